"""The status bar shows that automation is paused, why and since when, after a manual change,
in real Chromium against the real server and a real collection (issue 16, item 4)."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import Server, shown_after_publishing


def test_a_viewer_sees_automation_paused_by_a_manual_move(login, example, server: Server) -> None:
    example("automated")
    turned_on = server.api(
        "operator", "POST", "/api/deployments/automated/automation/", json={"enabled": True}
    )
    assert turned_on.json()["enabled"] is True
    move = {"entity": "splitter", "partition": 0, "to_pod": "splitter-1"}
    assert server.api("editor", "POST", "/api/deployments/automated/move/", json=move).status_code == 200
    state = server.api("viewer", "GET", "/api/deployments/automated/automation/").json()
    assert state["paused"] is True

    page = login("viewer")
    page.goto(f"{server.url}/deployments/automated/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    shown = re.compile(
        r"^paused since .+ \(manual change \(move_partition\) by editor via API, revision automated-\w+\)$"
    )
    shown_after_publishing(page, server.collect("automated"), "#status [data-status=automation]", shown)
    expect(page.locator("#status .automation-resume")).to_have_count(0)  # viewers cannot resume


def test_an_operator_resumes_it_from_the_status_bar(login, example, server: Server) -> None:
    example("resumed")
    server.api("operator", "POST", "/api/deployments/resumed/automation/", json={"enabled": True})
    move = {"entity": "splitter", "partition": 0, "to_pod": "splitter-1"}
    assert server.api("editor", "POST", "/api/deployments/resumed/move/", json=move).status_code == 200

    page = login("operator")
    page.goto(f"{server.url}/deployments/resumed/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    shown_after_publishing(
        page, server.collect("resumed"), "#status [data-status=automation]", re.compile("^paused")
    )
    page.click("#status .automation-resume")
    expect(page.locator("#status [data-status=automation]")).to_have_text("on")
    expect(page.locator("#status .automation-resume")).to_be_hidden()
    state = server.api("viewer", "GET", "/api/deployments/resumed/automation/").json()
    assert (state["enabled"], state["paused"]) == (True, False)
    audit = server.api("owner", "GET", "/api/deployments/resumed/audit/").json()
    assert audit.get("results", audit)[0]["action"] == "resume_automation"
