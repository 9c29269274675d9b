"""History in the dashboard (issue 18 item 4), in the real Chromium against the real server: the
revisions page with who, trigger and when, the diff of two revisions, and a rollback confirmed
on a page showing its diff, after which the restored revision keeps its creation time and
shows when it was reapplied."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Server, screenshot


def _change_history_limit(server: Server, name: str, limit: int, move: bool = False) -> dict[str, Any]:
    """Saves ``historyLimit: limit`` as the editor, with ``move`` also partition 3 of the
    splitter from splitter-1 to splitter-0 (the example has [0, 1] and [2, 3])."""
    manifest = server.api("editor", "GET", f"/api/deployments/{name}/").json()
    manifest["spec"]["historyLimit"] = limit
    if move:
        pods = manifest["spec"]["statefulEntities"][0]["pods"]
        assert [pod["partitions"] for pod in pods[:2]] == [[0, 1], [2, 3]], pods
        pods[0]["partitions"], pods[1]["partitions"] = [0, 1, 3], [2]
    version = manifest["metadata"]["resourceVersion"]
    response = server.api(
        "editor", "PUT", f"/api/deployments/{name}/", json=manifest, headers={"If-Match": f'"{version}"'}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_operator_reads_the_history_compares_and_rolls_back_after_seeing_the_diff(
    login, example, server: Server
) -> None:
    created = example("history")
    first = created["metadata"]["annotations"]["invoker.io/revision"]
    second = _change_history_limit(server, "history", 7, move=True)["metadata"]["annotations"][
        "invoker.io/revision"
    ]
    assert "applied" in server.reconcile("history")  # what runs: the second revision
    page = login("operator")
    page.goto(f"{server.url}/deployments/history/revisions/")

    rows = page.locator("#revisions tbody tr[data-number]")
    expect(rows).to_have_count(2)
    assert [row.get_attribute("data-name") for row in rows.all()] == [second, first]
    newest = page.locator(f'#revisions tr[data-name="{second}"]')
    expect(newest.locator("[data-col=number]")).to_have_text("2")
    expect(newest.locator("[data-col=by]")).to_have_text("editor")
    expect(newest.locator("[data-col=trigger]")).to_have_text("API")
    oldest = page.locator(f'#revisions tr[data-name="{first}"]')
    expect(oldest.locator("[data-col=by]")).to_have_text("owner")
    created_at = oldest.locator("[data-col=created] time").get_attribute("datetime")

    # Compare the two revisions (the default selection: the older one to the saved spec).
    page.click("#compare-button")
    expect(page.locator("h1")).to_have_text(f"{first} → current")
    expect(page.locator("#unified .del")).to_contain_text(["-  historyLimit: 5"])
    expect(page.locator("#unified .add")).to_contain_text(["+  historyLimit: 7"])
    expect(page.locator("#unified .file")).to_have_text([f"--- {first}", "+++ current"])
    expect(page.locator("#changes tbody tr")).to_have_count(3)  # historyLimit and two pods' partitions

    # Roll back: the confirmation shows what would change; nothing changed before confirming.
    page.click("a.rollback")
    expect(page.locator("h1")).to_have_text(f"Roll history back to {first} (#1)?")
    expect(page.locator("#unified .del")).to_contain_text(["-  historyLimit: 7"])
    expect(page.locator("#unified .add")).to_contain_text(["+  historyLimit: 5"])
    # ... and what a dry-run reconcile would change in what runs, object by object, field by field.
    expect(page.locator("#plan-error")).to_have_count(0)
    expect(page.locator("#plan")).to_contain_text("update ConfigMap/history.splitter")
    expect(page.locator("#plan")).to_contain_text(f"invoker.io/revision {second} -> {first}")
    assert server.api("owner", "GET", "/api/deployments/history/").json()["spec"]["historyLimit"] == 7
    screenshot(page, "rollback-confirmation.png")
    page.click("#confirm-rollback")

    expect(page.locator("#message")).to_have_text(f"Rolled back to {first}, now revision #3.")
    expect(rows.first).to_have_attribute("data-name", first)
    restored = page.locator(f'#revisions tr[data-name="{first}"]')
    expect(restored.locator("[data-col=number]")).to_have_text("3")
    expect(restored.locator("[data-col=trigger]")).to_have_text("API")  # how it was first made
    expect(restored.locator("[data-col=reapplied]")).to_contain_text("by operator (rollback)")
    assert restored.locator("[data-col=created] time").get_attribute("datetime") == created_at
    assert restored.locator("[data-col=reapplied] time").get_attribute("datetime") > created_at
    assert server.api("owner", "GET", "/api/deployments/history/").json()["spec"]["historyLimit"] == 5
    screenshot(page, "revisions.png")


def test_a_viewer_reads_the_history_and_diffs_but_cannot_roll_back(login, example, server: Server) -> None:
    created = example("history-viewed")
    first = created["metadata"]["annotations"]["invoker.io/revision"]
    _change_history_limit(server, "history-viewed", 6)
    page = login("viewer")
    page.goto(f"{server.url}/deployments/history-viewed/")  # the editor links to its history
    page.click("nav >> text=Revisions")
    expect(page.locator("#revisions tbody tr[data-number]")).to_have_count(2)
    expect(page.locator("a.rollback")).to_have_count(0)
    page.click(f'#revisions tr[data-name="{first}"] a.diff-current')
    expect(page.locator("#unified .add")).to_have_text(["+  historyLimit: 6"])
    expect(page.locator("a.rollback")).to_have_count(0)
    response = page.goto(f"{server.url}/deployments/history-viewed/revisions/{first}/rollback/")
    assert response is not None
    assert response.status == 403


def test_the_audit_timeline_shows_changes_and_reconciles_and_filters_them(
    login, example, server: Server
) -> None:
    example("timeline")
    _change_history_limit(server, "timeline", 8)
    assert "applied" in server.reconcile("timeline")
    page = login("viewer")
    page.goto(f"{server.url}/deployments/timeline/revisions/")
    page.click("nav >> text=Audit")
    rows = page.locator("#timeline > tbody > tr")
    expect(rows).to_have_count(3)
    assert [row.get_attribute("data-kind") for row in rows.all()] == ["reconcile", "change", "change"]
    update = page.locator('#timeline tr[data-action="update"]')
    expect(update.locator("[data-col=actor]")).to_have_text("editor")
    update.locator("summary").click()
    expect(update.locator("table.changes")).to_contain_text("spec.historyLimit")

    page.select_option("select[name=action]", "update")
    page.click("#apply-filters")
    expect(rows).to_have_count(1)
    expect(page.locator("#timeline tr[data-kind=change]")).to_have_attribute("data-action", "update")
    page.select_option("select[name=action]", "")
    page.select_option("select[name=kind]", "reconcile")
    page.click("#apply-filters")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-result", "success")
