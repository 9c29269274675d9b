"""The live metrics page and the list's live status, fed through the real websocket and the
Redis channel layer by payloads published the way the collector publishes them."""

import re
import time

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, publish, screenshot
from tests.browser.payloads import many_pods, payload
from topology_editor import metrics_history


def points(page: Page, chart: str) -> int:
    return page.evaluate(
        f"(document.getElementById('chart-{chart}').data || []).reduce((n, t) => Math.max(n, t.x.length), 0)"
    )


def test_the_metrics_charts_extend_in_place_with_each_websocket_payload(
    login, example, server: Server
) -> None:
    example("watched")
    metrics_history.clear("watched")  # what an earlier run published under this name (same Redis)
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
    assert traces == {"pods": 2, "records": 6, "bytes": 6, "lag": 6, "reconcile": 3}
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
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")  # the list's one socket
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


def chart_data(page: Page, chart: str) -> list[dict]:
    """Each trace of a chart: name, legend group, visibility and number of points."""
    return page.evaluate(
        f"document.getElementById('chart-{chart}').data.map(t => "
        "({name: t.name, group: t.legendgroup || '', visible: t.visible, points: t.x.length}))"
    )


def x_span_seconds(page: Page, chart: str) -> float:
    return page.evaluate(
        f"(() => {{ const r = document.getElementById('chart-{chart}').layout.xaxis.range;"
        " return (new Date(r[1]) - new Date(r[0])) / 1000; })()"
    )


def test_the_metrics_page_opens_with_the_kept_history_then_extends_live(
    login, example, server: Server
) -> None:
    example("remembered")
    metrics_history.clear("remembered")
    now = time.time()
    for tick in range(60):  # the last two minutes, as the collector kept them
        kept = payload("remembered", tick)
        kept["time"] = now - 120 + 2 * tick
        assert metrics_history.append(kept)
    page = login("viewer")
    page.goto(f"{server.url}/deployments/remembered/metrics/")
    expect(page.locator("#metrics")).to_have_attribute("data-history", "60")
    # Drawn before any live payload: every chart has the 60 kept points.
    for chart in ("pods", "records", "bytes", "lag", "reconcile"):
        assert points(page, chart) == 60, chart
    assert page.evaluate("window.invokerMetrics.received.count") == 0
    # Reconciles are a rate and duration percentiles, not a cumulative count.
    assert [t["name"] for t in chart_data(page, "reconcile")] == [
        "reconciles/min",
        "p50 duration",
        "p95 duration",
    ]
    expect(page.locator("#chart-reconcile .gtitle")).to_have_text(
        "Reconciles per minute and duration p50/p95 (ms)"
    )

    # The range picker: 15 min by default, then 5 min and 1 h.
    expect(page.locator("#range [data-range='900']")).to_have_attribute("aria-pressed", "true")
    assert x_span_seconds(page, "records") == 900
    page.click("#range [data-range='300']")
    expect(page.locator("#range [data-range='300']")).to_have_attribute("aria-pressed", "true")
    for chart in ("pods", "records", "bytes", "lag", "reconcile"):
        assert x_span_seconds(page, chart) == 300, chart
    page.click("#range [data-range='3600']")
    assert x_span_seconds(page, "lag") == 3600

    # Then it extends live, in place, and the range slides with it.
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    deadline = time.monotonic() + 30
    tick = 60
    while points(page, "records") < 62 and time.monotonic() < deadline:
        tick += 1
        live = payload("remembered", tick)
        live["time"] = time.time()
        publish(live)
        page.wait_for_timeout(200)
    assert points(page, "records") >= 62
    assert len(chart_data(page, "records")) == 6  # the same traces, extended
    end = page.evaluate(
        "new Date(document.getElementById('chart-records').layout.xaxis.range[1]).getTime() / 1000"
    )
    assert end >= now  # the window follows the newest point
    screenshot(page, "metrics-history.png")
    # What was published live is kept too: a reload opens with it.
    assert metrics_history.size("remembered") >= 62
    metrics_history.clear("remembered")


def test_legends_stay_readable_at_20_pods_and_the_toolbar_never_covers_a_title(
    login, example, server: Server
) -> None:
    example("crowded")
    metrics_history.clear("crowded")
    now = time.time()
    for tick in range(10):
        assert metrics_history.append(many_pods("crowded", tick, now - 20 + 2 * tick))
    page = login("viewer")
    page.goto(f"{server.url}/deployments/crowded/metrics/")
    expect(page.locator("#metrics")).to_have_attribute("data-history", "10")
    traces = chart_data(page, "records")
    assert len(traces) == 40  # 20 pods, in and out
    # Grouped by entity in the legend, with a title per group.
    assert {t["group"] for t in traces} == {"e0", "e1", "e2", "e3"}
    group_titles = page.locator("#chart-records .legend text").filter(has_text=re.compile(r"^e[0-3]$"))
    expect(group_titles).to_have_count(4)
    # The top 5 (by their newest value) are drawn; the other 35 wait in the legend.
    shown = sorted(t["name"] for t in traces if t["visible"] is True)
    assert shown == ["e0-4 in", "e1-4 in", "e2-4 in", "e3-3 in", "e3-4 in"], shown
    assert sum(t["visible"] == "legendonly" for t in traces) == 35
    # A click on a legend entry draws that one too.
    page.locator("#chart-records .legend .traces", has_text="e0-0 in").click()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if next(t for t in chart_data(page, "records") if t["name"] == "e0-0 in")["visible"] is True:
            break
        page.wait_for_timeout(100)
    assert next(t for t in chart_data(page, "records") if t["name"] == "e0-0 in")["visible"] is True
    # "all series" draws them all.
    page.check("#all-series")
    assert all(t["visible"] is True for t in chart_data(page, "records"))
    assert all(t["visible"] is True for t in chart_data(page, "bytes"))

    # The toolbar shows on hover, top right; each chart's title is top left and never under it.
    for chart in ("pods", "records", "bytes", "lag", "reconcile"):
        page.hover(f"#chart-{chart} .nsewdrag")
        bar = page.locator(f"#chart-{chart} .modebar")
        expect(bar).to_be_visible()
        title = page.locator(f"#chart-{chart} .gtitle").bounding_box()
        box = bar.bounding_box()
        assert title is not None, chart
        assert box is not None, chart
        apart = (
            title["x"] + title["width"] <= box["x"]
            or box["x"] + box["width"] <= title["x"]
            or title["y"] + title["height"] <= box["y"]
            or box["y"] + box["height"] <= title["y"]
        )
        assert apart, (chart, title, box)
    screenshot(page, "metrics-20-pods.png")
    metrics_history.clear("crowded")
