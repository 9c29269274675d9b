"""The topology editor against the real server: drawing, field errors, undo/redo, leaving
with unsaved changes, dragging a partition (and its keyboard alternative)."""

import re

import redis
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, collected_until, screenshot


def node(page: Page, name: str):
    return page.locator(f'.entity[data-name="{name}"]')


def set_field(page: Page, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Tab")  # edits are taken on "change", one undo step per field


def test_an_editor_draws_a_two_entity_topology_from_an_empty_deployment_and_saves_it(
    login, server: Server
) -> None:
    page = login("editor")
    page.fill("#create input[name=name]", "drawn")
    page.click("#create button")
    page.wait_for_url(f"{server.url}/deployments/drawn/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    expect(page.locator(".empty")).to_be_visible()

    page.click("#add-entity")
    set_field(page, "Name", "splitter")
    page.click("#add-entity")
    set_field(page, "Name", "totals")
    node(page, "splitter").click()
    page.select_option("#connect", label="totals")
    expect(page.locator(".edge")).to_have_count(1)
    expect(page.locator("#dirty")).to_be_visible()

    set_field(page, "requests cpu", "250m")
    # The panel's fields are the spec's declared ones, served with the page (spec_editor.py).
    set_field(page, "limits ephemeral-storage", "1Gi")

    # The server's validation error is shown at the field it concerns.
    set_field(page, "Executor image", "Not An Image!")
    page.click("#save")
    expect(page.locator("#message")).to_have_text("Not saved.")
    invalid = page.locator('input[data-path="spec.statefulEntities[0].executorImage"][aria-invalid=true]')
    expect(invalid).to_have_value("Not An Image!")
    error = page.locator("label:has([aria-invalid=true]) + .field-error")
    expect(error).to_contain_text("is not a valid image reference")
    expect(error).to_be_visible()

    # Undo takes the bad image back, redo restores it, undo again.
    page.locator("#nodes").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+z")
    expect(page.get_by_label("Executor image", exact=True)).to_have_value("invoker/executor:0.1")
    page.keyboard.press("Control+Shift+z")
    expect(page.get_by_label("Executor image", exact=True)).to_have_value("Not An Image!")
    page.keyboard.press("Control+z")

    page.click("#save")
    expect(page.locator("#message")).to_contain_text("reconcile requested")
    expect(page.locator("#dirty")).to_be_hidden()

    spec = server.api("owner", "GET", "/api/deployments/drawn/").json()["spec"]
    splitter, totals = spec["statefulEntities"]
    assert (splitter["name"], totals["name"]) == ("splitter", "totals")
    assert totals["inputTopic"] == splitter["outputTopic"] == "splitter-out"
    assert [pod["name"] for pod in totals["pods"]] == ["totals-0"]
    resources = {"requests": {"cpu": "250m"}, "limits": {"ephemeral-storage": "1Gi"}}
    assert splitter["pods"][0]["resources"] == resources

    # The YAML view shows the same spec.
    page.click("#tab-yaml")
    expect(page.locator("#yaml")).to_have_value(re.compile(r"inputTopic: splitter-out"))

    # The list shows it with its state.
    page.goto(f"{server.url}/")
    expect(page.locator('tr[data-name="drawn"] [data-status=state]')).to_have_text("Pending")


def test_unsaved_changes_are_not_lost_silently_when_leaving(login, example) -> None:
    example("leaving")
    page = login("editor")
    page.goto(page.url + "deployments/leaving/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    page.click("#add-entity")
    with page.expect_event("dialog") as asked:
        page.close(run_before_unload=True)
    assert asked.value.type == "beforeunload"
    asked.value.dismiss()  # the user stays, the change is still there
    expect(page.locator("#dirty")).to_be_visible()


def test_dragging_a_partition_to_another_pod_saves_it_and_requests_a_reconcile(
    login, example, server: Server, redis_url: str
) -> None:
    example("dragged")
    assert "create ConfigMap/dragged.splitter" in server.reconcile("dragged")  # it runs, at revision 1
    pending = redis.Redis.from_url(redis_url)
    pending_key = "invoker:reconcile:pending:dragged"  # jobs.coalesce's flag of a queued reconcile
    pending.delete(pending_key)  # as if a worker had picked up the creation's reconcile
    page = login("editor")
    page.goto(f"{server.url}/deployments/dragged/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)

    chip = page.locator('.pod[data-name="splitter-0"] .chip[data-partition="0"]')
    chip.drag_to(page.locator('.pod[data-name="splitter-1"]'))
    moved = page.locator('.pod[data-name="splitter-1"] .chip[data-partition="0"]')
    expect(moved).to_have_class(re.compile("changed"))
    expect(page.locator("#dirty")).to_be_visible()
    node(page, "splitter").locator("header b").click()
    screenshot(page, "editor.png")

    # The keyboard alternative: a focused chip moves to the next pod with the down arrow.
    page.locator('.pod[data-name="splitter-0"] .chip[data-partition="1"]').focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator('.pod[data-name="splitter-1"] .chip[data-partition="1"]')).to_be_focused()

    page.click("#save")
    expect(page.locator("#message")).to_contain_text("reconcile requested")
    spec = server.api("owner", "GET", "/api/deployments/dragged/").json()["spec"]
    pods = {pod["name"]: pod["partitions"] for pod in spec["statefulEntities"][0]["pods"]}
    assert pods == {"splitter-0": [], "splitter-1": [0, 1, 2, 3], "splitter-2": [4, 5]}
    revisions = server.api("owner", "GET", "/api/deployments/dragged/revisions/").json()
    assert len(revisions.get("results", revisions)) == 2
    assert pending.exists(pending_key), "the save did not request a reconcile"
    audit = server.api("owner", "GET", "/api/deployments/dragged/audit/").json()
    entries = audit.get("results", audit)
    assert any((e["actor"], e["interface"]) == ("editor", "ui") for e in entries), entries

    # The reconcile that follows (a real pass: no Celery worker runs here) changes the pods'
    # config, and the status it records reaches the editor through a real collection.
    revision = server.api("owner", "GET", "/api/deployments/dragged/").json()["metadata"]["annotations"]
    assert "update ConfigMap/dragged.splitter" in server.reconcile("dragged")
    collected_until(page, server, "dragged", revision["invoker.io/revision"])
    expect(page.locator("#status [data-status=lastReconcile]")).to_contain_text("success")


def test_the_yaml_view_shows_the_spec_and_imports_an_edited_one(login, example, server: Server) -> None:
    example("yamled")
    page = login("editor")
    page.goto(f"{server.url}/deployments/yamled/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    page.click("#tab-yaml")
    text = page.locator("#yaml").input_value()
    assert "historyLimit: 5" in text
    assert "partitions: [0, 1]" in text
    expect(page.locator("#yaml-export")).to_have_attribute("href", "/api/deployments/yamled/export/")

    page.locator("#yaml").fill(text.replace("historyLimit: 5", "historyLimit: 7"))
    page.click("#yaml-apply")
    expect(page.locator("#message")).to_contain_text("YAML imported")
    spec = server.api("owner", "GET", "/api/deployments/yamled/").json()["spec"]
    assert spec["historyLimit"] == 7
    assert spec["statefulEntities"][0]["pods"][0]["partitions"] == [0, 1]

    page.locator("#yaml").fill(text.replace("historyLimit: 5", "historyLimit: many"))
    page.click("#yaml-apply")
    expect(page.locator("#message")).to_contain_text("Import refused")
    expect(page.locator("#errors")).to_contain_text("spec.historyLimit")
