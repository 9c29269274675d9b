"""Scaling an entity in one step from the editor (issue 14, item 3): "Scale to N pods" shows the
plan (the pods added or removed, the fewest moves, the removed pods' first) and Apply makes it
one revision with the trigger ``scale``; a scale-in drains the removed pods; on unsaved edits a
scale-out and a rebalance are planned in the browser and saved with the edits as one revision,
and a scale-in says why it waits."""

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server


def open_editor(page: Page, server: Server, name: str) -> None:
    page.goto(f"{server.url}/deployments/{name}/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)


def select(page: Page, entity: str) -> None:
    page.locator(f'.entity[data-name="{entity}"] header b').click()
    expect(page.locator("#scale-pods")).to_be_visible()


def plan_scale(page: Page, pods: int) -> Any:
    page.fill("#scale-pods", str(pods))
    page.click("#scale-plan")
    dialog = page.locator("#scale-dialog")
    expect(dialog).to_be_visible()
    return dialog


def moves_shown(dialog: Any) -> list[list[str]]:
    return [row.locator("td").all_inner_texts() for row in dialog.locator(".scale-moves tr").all()]


def totals_of(server: Server, name: str) -> dict[str, list[int]]:
    spec = server.api("owner", "GET", f"/api/deployments/{name}/").json()["spec"]
    entity = next(e for e in spec["statefulEntities"] if e["name"] == "totals")
    return {pod["name"]: [int(p) for p in pod["partitions"]] for pod in entity["pods"]}


def audit_actions(server: Server, name: str) -> list[str]:
    body = server.api("owner", "GET", f"/api/deployments/{name}/audit/").json()
    entries = body["results"] if isinstance(body, dict) else body
    return [entry["action"] for entry in entries]


def revision_count(server: Server, name: str) -> int:
    body = server.api("owner", "GET", f"/api/deployments/{name}/revisions/").json()
    return body["count"] if isinstance(body, dict) and "count" in body else len(body)


def test_scale_out_then_in_shows_the_plan_and_applies_each_as_one_revision(
    login, example, server: Server
) -> None:
    example("scaled")
    page = login("operator")
    open_editor(page, server, "scaled")
    select(page, "totals")
    expect(page.locator("#scale-pods")).to_have_value("1")

    dialog = plan_scale(page, 3)
    expect(dialog.locator(".scale-summary")).to_have_text(
        "1 → 3 pod(s): adds totals-1, totals-2; 4 partition(s) move (the fewest possible)."
    )
    assert moves_shown(dialog) == [
        ["2", "totals-0", "totals-1"], ["3", "totals-0", "totals-1"],
        ["4", "totals-0", "totals-2"], ["5", "totals-0", "totals-2"],
    ]  # fmt: skip
    assert totals_of(server, "scaled") == {"totals-0": [0, 1, 2, 3, 4, 5]}  # the plan changed nothing
    revisions = revision_count(server, "scaled")
    dialog.locator(".scale-apply").click()
    expect(page.locator("#message")).to_contain_text("Scaled totals to 3 pod(s): revision")
    assert totals_of(server, "scaled") == {"totals-0": [0, 1], "totals-1": [2, 3], "totals-2": [4, 5]}
    assert revision_count(server, "scaled") == revisions + 1
    assert audit_actions(server, "scaled")[0] == "scale"
    expect(page.locator('.pod[data-name="totals-2"] .chip')).to_have_count(2)

    # Scaling in: the removed pod's partitions move first, and it is drained, not dropped.
    select(page, "totals")
    dialog = plan_scale(page, 2)
    expect(dialog.locator(".scale-summary")).to_contain_text(
        "3 → 2 pod(s): removes totals-2; 2 partition(s) move"
    )
    expect(dialog.locator(".scale-note")).to_contain_text("The removed pods' partitions move first")
    assert moves_shown(dialog) == [["4", "totals-2", "totals-0"], ["5", "totals-2", "totals-1"]]
    dialog.locator(".scale-apply").click()
    expect(page.locator('.pod[data-name="totals-2"] .chip')).to_have_count(0)
    expect(page.locator('.pod[data-name="totals-0"] .chip')).to_have_count(3)
    assert totals_of(server, "scaled") == {"totals-0": [0, 1, 4], "totals-1": [2, 3, 5], "totals-2": []}
    assert revision_count(server, "scaled") == revisions + 2


def test_on_unsaved_edits_a_scale_out_is_planned_in_the_browser_and_saved_with_them_as_one_revision(
    login, example, server: Server
) -> None:
    example("scaled-unsaved")
    page = login("operator")
    open_editor(page, server, "scaled-unsaved")
    revisions = revision_count(server, "scaled-unsaved")
    # An unsaved edit first: splitter-2's partition 5 to splitter-0.
    page.locator('.pod[data-name="splitter-2"] .chip[data-partition="5"]').drag_to(
        page.locator('.pod[data-name="splitter-0"]')
    )
    expect(page.locator("#dirty")).to_be_visible()

    select(page, "totals")
    expect(page.locator("#scale-plan")).to_have_attribute(
        "title", re.compile("needs your unsaved edits saved or discarded")
    )
    dialog = plan_scale(page, 2)
    expect(dialog.locator(".scale-note")).to_contain_text("Planned on your unsaved edits")
    assert moves_shown(dialog) == [
        ["3", "totals-0", "totals-1"],
        ["4", "totals-0", "totals-1"],
        ["5", "totals-0", "totals-1"],
    ]
    dialog.locator(".scale-apply").click()
    expect(page.locator('.pod[data-name="totals-1"] .chip')).to_have_count(3)
    assert totals_of(server, "scaled-unsaved") == {"totals-0": [0, 1, 2, 3, 4, 5]}  # not saved yet

    # A scale-in needs the server's drain: it says why instead.
    select(page, "totals")
    page.fill("#scale-pods", "1")
    page.click("#scale-plan")
    expect(page.locator("#message")).to_contain_text("save or discard your unsaved edits first")
    expect(page.locator("#scale-dialog")).to_be_hidden()

    page.click("#save")
    expect(page.locator("#dirty")).to_be_hidden()
    assert totals_of(server, "scaled-unsaved") == {"totals-0": [0, 1, 2], "totals-1": [3, 4, 5]}
    assert revision_count(server, "scaled-unsaved") == revisions + 1


def test_rebalance_works_on_unsaved_edits(login, example, server: Server) -> None:
    example("rebalanced-unsaved")
    page = login("operator")
    open_editor(page, server, "rebalanced-unsaved")
    revisions = revision_count(server, "rebalanced-unsaved")
    page.locator('.pod[data-name="splitter-0"] .chip[data-partition="0"]').drag_to(
        page.locator('.pod[data-name="splitter-2"]')
    )
    expect(page.locator('.pod[data-name="splitter-2"] .chip')).to_have_count(3)
    rebalance = page.locator('.entity[data-name="splitter"] .rebalance')
    expect(rebalance).to_be_enabled()
    rebalance.click()
    dialog = page.locator("#plan-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#plan-summary")).to_contain_text("on your unsaved edits")
    plan = [row.locator("td").all_inner_texts() for row in page.locator("#plan-moves tr").all()]
    assert plan == [["5", "splitter-2", "splitter-0"]]
    page.click("#plan-apply")
    expect(page.locator('.pod[data-name="splitter-0"] .chip')).to_have_count(2)
    page.click("#save")
    expect(page.locator("#dirty")).to_be_hidden()
    spec = server.api("owner", "GET", "/api/deployments/rebalanced-unsaved/").json()["spec"]
    pods = {pod["name"]: [int(p) for p in pod["partitions"]] for pod in spec["statefulEntities"][0]["pods"]}
    assert pods == {"splitter-0": [1, 5], "splitter-1": [2, 3], "splitter-2": [0, 4]}
    assert revision_count(server, "rebalanced-unsaved") == revisions + 1


def test_a_viewer_cannot_scale(login, example, server: Server) -> None:
    example("scale-viewed")
    page = login("viewer")
    open_editor(page, server, "scale-viewed")
    select(page, "totals")
    expect(page.locator("#scale-plan")).to_be_disabled()
    expect(page.locator("#scale-plan")).to_have_attribute("title", "Operators may scale an entity")
