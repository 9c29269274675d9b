"""Draining a pod from the editor, in real Chromium against the real server: the Drain button
on a pod, the choice to remove or cordon it, one revision moving its partitions; viewers get
no button."""

from playwright.sync_api import expect

from tests.browser.conftest import Server


def test_an_operator_drains_a_pod_and_keeps_it_cordoned(login, example, server: Server) -> None:
    example("drain-ui")
    page = login("operator")
    page.goto(f"{server.url}/deployments/drain-ui/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)

    page.click('.entity[data-name="splitter"] li.pod[data-name="splitter-2"] button.drain-pod')
    dialog = page.locator("#drain-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".drain-pod-name")).to_have_text("splitter-2")
    dialog.locator(".drain-cordon").click()
    expect(page.locator("#message")).to_contain_text("Draining splitter-2 (4 → splitter-0, 5 → splitter-1)")
    after = server.api("owner", "GET", "/api/deployments/drain-ui/").json()
    pods = {pod["name"]: pod["partitions"] for pod in after["spec"]["statefulEntities"][0]["pods"]}
    assert pods == {"splitter-0": [0, 1, 4], "splitter-1": [2, 3, 5], "splitter-2": []}
    audit = server.api("owner", "GET", "/api/deployments/drain-ui/audit/").json()
    assert audit.get("results", audit)[0]["action"] == "drain"


def test_viewers_get_no_drain_button(login, example, server: Server) -> None:
    example("drain-viewer")
    page = login("viewer")
    page.goto(f"{server.url}/deployments/drain-viewer/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    expect(page.locator("li.pod")).not_to_have_count(0)
    expect(page.locator("button.drain-pod")).to_have_count(0)
