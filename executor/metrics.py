"""The pod's Prometheus metrics, served by the io sidecar on INVOKER_METRICS_PORT.

The containers of a pod share one network namespace, so one of them must own the port; the io
sidecar sees every record and every commit, and the UDF host reports its own latency in each
batch response, so no second channel is needed. Restarts of all three containers are read
from the counts they leave in the shared socket directory (see service.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from executor.service import read_restarts

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RECORDS_IN = Counter("invoker_records_in", "Records consumed, by input partition", ["partition"])
BYTES_IN = Counter("invoker_bytes_in", "Key and value bytes consumed, by input partition", ["partition"])
RECORDS_OUT = Counter(
    "invoker_records_out", "Records produced (committed or not), by output partition", ["partition"]
)
BYTES_OUT = Counter("invoker_bytes_out", "Key and value bytes produced, by output partition", ["partition"])
LAG = Gauge(
    "invoker_consumer_lag", "Records between the consumed position and the partition's end", ["partition"]
)
UDF_LATENCY = Histogram(
    "invoker_udf_latency_seconds", "Time the UDF took per batch (user code only)", buckets=LATENCY_BUCKETS
)
STATE_LATENCY = Histogram(
    "invoker_state_read_seconds",
    "Time to read a batch's keys from the state sidecar",
    buckets=LATENCY_BUCKETS,
)
BATCH_RECORDS = Histogram(
    "invoker_batch_records",
    "Records per batch (and per transaction)",
    buckets=(1, 10, 100, 1000, 5000, 10000, 20000, 50000),
)
COMMIT_LATENCY = Histogram(
    "invoker_commit_seconds", "Prepare + Kafka commit + finalize of one batch", buckets=LATENCY_BUCKETS
)
TRANSACTIONS = Counter("invoker_transactions", "Per-partition transactions by outcome", ["outcome"])
EPOCH = Gauge("invoker_assignment_epoch", "Assignment epoch of the config this pod runs")
OWNED = Gauge(
    "invoker_partition_owned",
    "Partitions assigned to this pod: 1 = consuming, 0 = waiting for its previous owner or recovering",
    ["partition"],
)
REASSIGN = Histogram(
    "invoker_reassignment_seconds",
    "Config change to first record consumed from a gained partition",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
)
HANDOFFS = Counter(
    "invoker_handoffs",
    "Partitions claimed: clean = after the previous owner released it (or it had none), "
    "forced = after the grace period, fencing an owner that did not release",
    ["how"],
)
ERRORS = Counter("invoker_errors", "Batches or acquisitions that failed and were retried, by kind", ["kind"])
DEAD_LETTERS = Counter(
    "invoker_dead_letters",
    "Records the UDF kept raising on, sent to the dead-letter topic, by input partition",
    ["partition"],
)
RESTORE_SECONDS = Histogram(
    "invoker_state_restore_seconds",
    "Time to restore a partition's state cache from its changelog",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
RESTORED_KEYS = Counter("invoker_state_restored_keys", "Keys loaded into the state cache from the changelog")


class RestartCollector(Collector):
    """`invoker_process_restarts{container}`, read from the pod's shared directory at scrape time."""

    def __init__(self, socket_dir: Path) -> None:
        self._socket_dir = socket_dir

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "invoker_process_restarts",
            "Restarts of each container since the pod started",
            labels=["container"],
        )
        for container, count in read_restarts(self._socket_dir).items():
            family.add_metric([container], count)
        yield family


def serve_metrics(port: int, socket_dir: Path) -> None:
    """Starts the HTTP endpoint (a daemon thread) and registers the restart collector."""
    REGISTRY.register(RestartCollector(socket_dir))
    start_http_server(port, addr="0.0.0.0")


def forget_partition(partition: int) -> None:
    """Drops the gauges of a partition this pod no longer owns; counters keep their history."""
    for gauge in (LAG, OWNED):
        with contextlib.suppress(KeyError):
            gauge.remove(str(partition))


for _how in ("clean", "forced"):  # exported as 0 from the start, so absence never hides a count
    HANDOFFS.labels(_how)
for _outcome in ("committed", "failed"):
    TRANSACTIONS.labels(_outcome)
