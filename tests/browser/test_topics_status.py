"""The dashboard's status bar names the conditions that do not hold, with their reasons."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, without_broker


def test_a_broker_outage_shows_in_the_status_bar_with_its_reason(login, example, server: Server) -> None:
    address = without_broker(example, "no-broker")
    with pytest.raises(AssertionError, match="not reachable"):
        server.reconcile("no-broker")  # the pass fails (and would be retried with back-off)
    page = login("viewer")
    page.goto(f"{server.url}/deployments/no-broker/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    expect(page.locator("#status [data-status=state]")).to_have_text("Degraded")
    conditions = page.locator("#status [data-status=conditions]")
    expect(conditions).to_have_text("Ready: BrokerUnavailable · TopicsReady: BrokerUnavailable")
    expect(page.locator("#status [data-status=message]")).to_contain_text(
        f"Kafka at {address} is not reachable"
    )
