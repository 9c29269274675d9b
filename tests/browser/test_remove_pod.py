"""The editor's "Remove pod" in real Chromium against the real server: a saved pod that owns
partitions is drained first (its partitions go to the other pods, it stays owning nothing until
they are taken over), never dropped with them; with unsaved edits, or for the last pod of its
entity, the removal is refused naming why and nothing changes."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server


def open_entity(login, server: Server, name: str, entity: str) -> Page:
    page = login("editor")
    page.goto(f"{server.url}/deployments/{name}/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    page.locator(f'.entity[data-name="{entity}"] h3, .entity[data-name="{entity}"]').first.click()
    expect(page.locator("#panel button.remove-pod")).not_to_have_count(0)
    return page


def saved_pods(server: Server, name: str, entity: int = 0) -> dict[str, list[int]]:
    spec = server.api("owner", "GET", f"/api/deployments/{name}/").json()["spec"]
    return {pod["name"]: pod["partitions"] for pod in spec["statefulEntities"][entity]["pods"]}


def test_removing_a_pod_that_owns_partitions_drains_it_first(login, example, server: Server) -> None:
    example("remove-ui")
    page = open_entity(login, server, "remove-ui", "splitter")

    page.click('#panel button.remove-pod[data-pod="2"]')

    # The editor shows the handover revision: splitter-2 stays, owning nothing, until taken over.
    splitter = page.locator('.entity[data-name="splitter"]')
    expect(splitter.locator('li.pod[data-name="splitter-2"]')).to_have_count(1)
    expect(splitter.locator('li.pod[data-name="splitter-0"] .chip[data-partition="4"]')).to_have_count(1)
    expect(splitter.locator('li.pod[data-name="splitter-2"] .chip')).to_have_count(0)
    pods = {"splitter-0": [0, 1, 4], "splitter-1": [2, 3, 5], "splitter-2": []}
    assert saved_pods(server, "remove-ui") == pods
    audit = server.api("owner", "GET", "/api/deployments/remove-ui/audit/").json()
    assert audit.get("results", audit)[0]["action"] == "drain"


def test_with_unsaved_edits_the_removal_is_refused_naming_why(login, example, server: Server) -> None:
    example("remove-dirty")
    page = open_entity(login, server, "remove-dirty", "splitter")
    page.click("#add-pod")
    expect(page.locator("#panel button.remove-pod")).to_have_count(4)

    page.click('#panel button.remove-pod[data-pod="2"]')

    expect(page.locator("#message")).to_contain_text(
        "Save or discard your edits first: splitter-2 owns partitions 4, 5"
    )
    expect(page.locator("#panel button.remove-pod")).to_have_count(4)
    assert saved_pods(server, "remove-dirty") == {
        "splitter-0": [0, 1],
        "splitter-1": [2, 3],
        "splitter-2": [4, 5],
    }
    # The pod added since the save owns nothing on the server: the editor removes it locally.
    page.click('#panel button.remove-pod[data-pod="3"]')
    expect(page.locator("#panel button.remove-pod")).to_have_count(3)


def test_the_last_pod_of_an_entity_is_not_removed(login, example, server: Server) -> None:
    example("remove-last")
    page = open_entity(login, server, "remove-last", "totals")

    page.click('#panel button.remove-pod[data-pod="0"]')

    expect(page.locator("#message")).to_contain_text("Remove refused")
    expect(page.locator("#message")).to_contain_text("last pod of entity 'totals'")
    assert saved_pods(server, "remove-last", 1) == {"totals-0": [0, 1, 2, 3, 4, 5]}
