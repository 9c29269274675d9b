"""The editor's rebalance dialog by measured load, in real Chromium against the real server:
each pod's load before and after as numbers and bars, then Apply as one revision."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.test_operations import all_on_first_pod
from topology_editor import partition_rates

#: records/s of splitter's six partitions (1000 in all).
RATES = [200, 200, 200, 150, 150, 100]


@pytest.fixture
def measured(redis_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """Two collections of a deployment named after the test, 10 s apart, as the collector
    records them (real Redis)."""
    name = request.node.name.removeprefix("test_").replace("_", "-")[:40].strip("-")
    partition_rates.clear(name)
    partition_rates.record(name, {"splitter": {str(p): [0.0, 0.0, 0.0] for p in range(6)}}, 1000.0)
    after = {"splitter": {str(p): [r * 10.0, r * 100.0, 0.0] for p, r in enumerate(RATES)}}
    partition_rates.record(name, after, 1010.0)
    yield name
    partition_rates.clear(name)


def test_an_operator_previews_the_load_per_pod_and_applies_the_plan(
    login, example, server: Server, measured: str
) -> None:
    example(measured, all_on_first_pod)
    page = login("operator")
    page.goto(f"{server.url}/deployments/{measured}/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)

    page.click('.entity[data-name="splitter"] .rebalance')
    dialog = page.locator("#load-plan-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".load-summary")).to_contain_text("4 partition(s) move (the fewest possible)")
    expect(dialog.locator(".load-summary")).to_contain_text("max/avg load 3.00 → 1.05")
    rows = {
        row.get_attribute("data-pod"): row.locator("td").all_inner_texts()[1:3]
        for row in dialog.locator(".load-pods tr").all()
    }
    assert rows["splitter-0"][0] == "1000.0"
    assert sorted(after for _, after in rows.values()) == ["300.0", "350.0", "350.0"]
    expect(dialog.locator(".load-chart svg rect.bar-after")).to_have_count(3)
    expect(dialog.locator(".load-moves tr")).to_have_count(4)
    assert (
        server.api("owner", "GET", f"/api/deployments/{measured}/").json()["metadata"]["resourceVersion"]
        == "1"
    )

    dialog.locator(".load-apply").click()
    expect(page.locator("#message")).to_contain_text("Rebalanced splitter by load")
    after = server.api("owner", "GET", f"/api/deployments/{measured}/").json()
    pods = {pod["name"]: pod["partitions"] for pod in after["spec"]["statefulEntities"][0]["pods"]}
    loads = sorted(sum(RATES[p] for p in partitions) for partitions in pods.values())
    assert loads == [300, 350, 350]
    audit = server.api("owner", "GET", f"/api/deployments/{measured}/audit/").json()
    entries = audit.get("results", audit)
    assert entries[0]["action"] == "rebalance"


def test_even_by_count_is_one_click_away(login, example, server: Server, measured: str) -> None:
    example(measured, all_on_first_pod)
    page = login("operator")
    page.goto(f"{server.url}/deployments/{measured}/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    page.click('.entity[data-name="splitter"] .rebalance')
    page.locator("#load-plan-dialog .load-even").click()
    expect(page.locator("#plan-dialog")).to_be_visible()
    expect(page.locator("#plan-dialog #plan-moves tr")).to_have_count(4)
