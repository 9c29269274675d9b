"""Per-partition rates for the load-aware rebalance: the collector scrapes each pod's input
counters per partition (a real Prometheus endpoint) and keeps bounded samples in the real Redis."""

import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from jobs.collector import collect, scrape
from orchestrator.reconciler.backend import Observed, PodState
from topology_editor import partition_rates


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Counter, Counter]]:
    registry = CollectorRegistry()
    records = Counter("invoker_records_in", "in", ["partition"], registry=registry)
    size = Counter("invoker_bytes_in", "in", ["partition"], registry=registry)
    Gauge("invoker_consumer_lag", "lag", ["partition"], registry=registry).labels("1").set(40)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield f"http://127.0.0.1:{server.server_port}/metrics", records, size
    server.shutdown()
    thread.join(timeout=5)


class Backend:
    def __init__(self, url: str) -> None:
        self.url = url

    def observe(self, name: str) -> Observed:
        pod = PodState(
            "word-count-demo.splitter-0-x", "uid", "splitter", "splitter-0", "Running", True, 0, self.url
        )
        return Observed(pods=[pod])


def test_a_scrape_keeps_each_partitions_input_counters(endpoint) -> None:
    url, records, size = endpoint
    records.labels("0").inc(70)
    size.labels("0").inc(700)
    records.labels("1").inc(30)
    assert scrape(url)["partitions"] == {"0": [70.0, 700.0], "1": [30.0, 0.0]}


def test_two_collections_give_each_partitions_rate_and_lag(deployment, endpoint) -> None:
    url, records, size = endpoint
    partition_rates.clear(deployment.name)
    collect(deployment, Backend(url))
    started = time.time()
    records.labels("0").inc(300)
    size.labels("0").inc(3000)
    records.labels("1").inc(100)
    time.sleep(0.5)
    payload = collect(deployment, Backend(url))
    elapsed = time.time() - started
    assert "partitions" not in payload["pods"][0]  # the dashboard's message stays as it was
    measured = partition_rates.rates(deployment.name)["splitter"]
    assert measured[0].records_per_sec == pytest.approx(300 / elapsed, rel=0.5)
    assert measured[0].records_per_sec == pytest.approx(3 * measured[1].records_per_sec)
    assert measured[0].bytes_per_sec == pytest.approx(10 * measured[0].records_per_sec)
    assert measured[1].lag == 40


def test_samples_are_bounded_and_the_window_picks_the_oldest_inside_it(redis_url) -> None:
    name = "rates-window-test"
    partition_rates.clear(name)
    for i in range(partition_rates.MAX_SAMPLES + 5):
        partition_rates.record(name, {"e": {"0": [i * 100.0, 0.0, 0.0]}}, 1000.0 + 5 * i)
    assert partition_rates._redis().llen(f"invoker:partition-rates:{name}") == partition_rates.MAX_SAMPLES
    assert partition_rates.rates(name, window=60)["e"][0].records_per_sec == pytest.approx(20)
    assert partition_rates.rates(name, window=10)["e"][0].records_per_sec == pytest.approx(20)
    # A restarted pod's counters start again from zero: no rate for that window, never negative.
    partition_rates.clear(name)
    partition_rates.record(name, {"e": {"0": [900.0, 0.0, 0.0]}}, 1000.0)
    partition_rates.record(name, {"e": {"0": [5.0, 0.0, 0.0]}}, 1005.0)
    assert partition_rates.rates(name)["e"][0].records_per_sec == 0.0
    partition_rates.clear(name)
    assert partition_rates.rates(name) == {}
