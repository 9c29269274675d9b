"""The live metrics page and the list's live status, fed through the real websocket and the
Redis channel layer by payloads published the way the collector publishes them."""

import time

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, publish, screenshot
from tests.browser.payloads import payload


def points(page: Page, chart: str) -> int:
    return page.evaluate(
        f"(document.getElementById('chart-{chart}').data || []).reduce((n, t) => Math.max(n, t.x.length), 0)"
    )


def test_the_metrics_charts_extend_in_place_with_each_websocket_payload(
    login, example, server: Server
) -> None:
    example("watched")
    page = login("viewer")
    page.goto(f"{server.url}/deployments/watched/metrics/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    deadline = time.monotonic() + 30
    tick = 0
    while points(page, "records") < 5 and time.monotonic() < deadline:
        tick += 1
        publish(payload("watched", tick))
        page.wait_for_timeout(150)
    assert points(page, "records") >= 5
    # In place: one trace per pod and direction, one per entity, one per partition.
    traces = page.evaluate(
        "Object.fromEntries(['pods','records','bytes','lag','reconcile']"
        ".map(c => [c, document.getElementById('chart-' + c).data.length]))"
    )
    assert traces == {"pods": 2, "records": 6, "bytes": 6, "lag": 6, "reconcile": 2}
    for chart in ("pods", "bytes", "lag", "reconcile"):
        assert points(page, chart) >= 5, chart
    expect(page.locator("#status [data-status=state]")).to_have_text("Running")
    expect(page.locator("#status [data-status=lastReconcile]")).to_contain_text("success")
    screenshot(page, "metrics.png")

    # A lost connection is shown, then re-established without a reload, and points keep coming.
    page.evaluate("window.invokerMetrics.socket.drop()")
    expect(page.locator("#conn")).to_have_attribute("data-state", "lost")
    expect(page.locator("#conn")).to_contain_text("connection lost")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    before = points(page, "records")
    deadline = time.monotonic() + 20
    while points(page, "records") == before and time.monotonic() < deadline:
        tick += 1
        publish(payload("watched", tick))
        page.wait_for_timeout(150)
    assert points(page, "records") > before


def test_the_list_shows_each_deployments_state_live(login, example, server: Server) -> None:
    example("listed")
    page = login("viewer")
    row = page.locator('tr[data-name="listed"]')
    expect(row.locator("[data-status=state]")).to_have_text("Pending")
    expect(row).to_have_attribute("data-conn", "open")
    failed = payload("listed", 1)
    failed["status"].update(state="Failed", lastError="ImagePullBackOff on splitter-0")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and row.locator("[data-status=state]").inner_text() != "Failed":
        publish(failed)
        page.wait_for_timeout(200)
    expect(row.locator("[data-status=state]")).to_have_text("Failed")
    expect(row.locator("[data-status=lastError]")).to_have_text("ImagePullBackOff on splitter-0")
    expect(row.locator("[data-status=lastReconcile]")).to_contain_text("success · 34 ms")
    screenshot(page, "deployments.png")
