"""The metrics collector: pod endpoints scraped, rates computed, one message per deployment."""

from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from jobs.collector import collect, publish, scrape, with_rates
from orchestrator.reconciler.backend import Observed, PodState
from topology_editor.groups import metrics_group


@pytest.fixture
def pod_endpoint() -> Iterator[tuple[str, Counter]]:
    """A real Prometheus endpoint exposing the executor's metric names."""
    registry = CollectorRegistry()
    records = Counter("invoker_records_in", "in", ["partition"], registry=registry)
    Counter("invoker_bytes_in", "in", ["partition"], registry=registry).labels("0").inc(500)
    Gauge("invoker_consumer_lag", "lag", ["partition"], registry=registry).labels("3").set(12)
    records.labels("0").inc(70)
    records.labels("1").inc(30)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield f"http://127.0.0.1:{server.server_port}/metrics", records
    server.shutdown()
    thread.join(timeout=5)


def test_a_scrape_sums_the_partitions_and_keeps_the_lag(pod_endpoint) -> None:
    totals = scrape(pod_endpoint[0])
    assert totals["recordsIn"] == 100
    assert totals["bytesIn"] == 500
    assert totals["lag"] == {"3": 12}


def test_rates_come_from_the_previous_collection(redis_url: str) -> None:
    first = [{"name": "p", "recordsIn": 100.0}]
    with_rates("rates-test", first, now=1000.0)
    second = [{"name": "p", "recordsIn": 400.0}]
    with_rates("rates-test", second, now=1002.0)
    assert second[0]["recordsInPerSec"] == 150.0


class OnePodBackend:
    """The pod list a backend reports, pointing at a real endpoint (the rest is unused here)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def observe(self, name: str) -> Observed:
        pod = PodState(
            "word-count-demo.splitter-0-x", "uid", "splitter", "splitter-0", "Running", True, 2, self.url
        )
        return Observed(pods=[pod])


async def receive(deployment: str, payload: dict) -> dict:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(metrics_group(deployment), channel)
    await layer.group_send(metrics_group(deployment), {"type": "metrics.update", "payload": payload})
    return await layer.receive(channel)


def test_a_collection_describes_pods_entities_lag_and_status(deployment, pod_endpoint) -> None:
    payload = collect(deployment, OnePodBackend(pod_endpoint[0]))
    assert payload["deployment"] == "word-count-demo"
    assert payload["entities"] == {"splitter": {"pods": 1}, "totals": {"pods": 0}}
    pod = payload["pods"][0]
    assert (pod["name"], pod["entity"], pod["restarts"], pod["recordsIn"]) == (
        "splitter-0",
        "splitter",
        2,
        100,
    )
    assert payload["lag"] == {"splitter": {"3": 12}}
    assert payload["status"]["state"] == "Pending"
    message = async_to_sync(receive)("word-count-demo", payload)
    assert message["payload"]["pods"][0]["recordsIn"] == 100
    publish(payload)  # the same path the beat task takes, through the real Redis layer
