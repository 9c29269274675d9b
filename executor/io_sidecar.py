"""The io sidecar: consumes the pod's partitions, drives the UDF, produces and commits.

It owns the pod's Kafka clients, its Prometheus endpoint and the config watcher. A new
`<pod>.json` re-assigns partitions in place (see ownership.py); a `main.json` change of the
topics, brokers or state backend rebuilds the clients inside the same process. SIGTERM ends
the loop after the batch in flight is committed and releases every partition, so the next
owner starts at once and where this pod stopped.

Run: `python -m executor.io_sidecar` with POD_NAME, INVOKER_CONFIG_DIR, INVOKER_SOCKET_DIR and
INVOKER_METRICS_PORT (tuning: INVOKER_BATCH_MAX_RECORDS, INVOKER_BATCH_MAX_MS,
INVOKER_BATCH_MIN_RECORDS, INVOKER_BATCH_LINGER_MS, INVOKER_IDLE_POLL_MS, INVOKER_HANDOFF_GRACE_MS;
docs/executor.md).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import tenacity

from executor.config import ConfigError, PodConfig
from executor.config_watcher import ConfigWatcher, Snapshot
from executor.env import PodEnv, Tuning
from executor.kafka_clients import OutputRouter, ensure_output_topic, make_consumer
from executor.metrics import serve_metrics
from executor.ownership import RETRY_ERRORS, Ownership
from executor.pipeline import Pipeline
from executor.protocol import Client
from executor.service import configure_logging, record_start, stop_event

log = logging.getLogger(__name__)


@dataclass
class Peers:
    """The io sidecar's connections and identity, kept across runtime rebuilds."""

    env: PodEnv
    tuning: Tuning
    udf: Client
    state: Client
    claims: Client  # the claim waiter's own connection to the state sidecar
    token: str
    pool: ThreadPoolExecutor
    stop: threading.Event

    def patiently(self) -> tenacity.Retrying:
        """Retries a start-up step until it works or SIGTERM arrives."""
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((*RETRY_ERRORS, ConfigError)),
            wait=tenacity.wait_exponential(multiplier=0.1, max=5),
            stop=tenacity.stop_when_event_set(self.stop),
            before_sleep=lambda s: log.warning("start-up step failed (%s); retrying", s.outcome.exception()),
            reraise=True,
        )


def run_runtime(peers: Peers, watcher: ConfigWatcher, snapshot: Snapshot) -> Snapshot | None:
    """Runs one `main.json` runtime until stopped (None) or until its key changes (the new snapshot)."""
    main = snapshot.main
    stateful = bool(peers.patiently()(peers.udf.call, "hello")["stateful"])
    router = OutputRouter(peers.patiently()(ensure_output_topic, main))
    consumer = peers.patiently()(make_consumer, main, peers.env.pod_name, peers.tuning.batch_max_records)
    own = Ownership(
        main,
        peers.env.pod_name,
        peers.token,
        consumer,
        peers.state,
        stateful,
        peers.tuning,
        peers.pool,
        peers.claims,
        wake=watcher.changed,
        ahead=claim_ahead(watcher),
    )
    peers.patiently()(own.recovery.prepare_topic)
    pipeline = Pipeline(own, peers.udf, router, peers.tuning, sleep=peers.stop.wait, wake=watcher.changed)
    log.info(
        "running %s/%s: %s -> %s (%d output partitions, stateful=%s)",
        main.deployment,
        main.entity,
        main.input_topic,
        main.output_topic,
        router.partitions,
        stateful,
    )
    own.apply(snapshot.pod, changed_at=None)
    try:
        while not peers.stop.is_set():
            new = watcher.poll()
            if new is not None and new.main.runtime_key != main.runtime_key:
                log.info("main.json changed what the clients connect to; rebuilding them")
                return new
            if new is not None:
                own.apply(new.pod, new.changed_at)
            own.acquire_due()
            pipeline.run_once()
        return None
    finally:
        own.release_all()
        consumer.close(autocommit=False)


def claim_ahead(watcher: ConfigWatcher) -> Callable[[], tuple[PodConfig, frozenset[int]] | None]:
    """What Ownership's claim-ahead thread reads: the assignment of a watch event the loop has not
    polled yet, with the partitions of the config the loop runs (so it claims only the gained)."""

    def peek() -> tuple[PodConfig, frozenset[int]] | None:
        pod, running = watcher.ahead(), watcher.current
        return None if pod is None or running is None else (pod, running.pod.partitions)

    return peek


def first_snapshot(watcher: ConfigWatcher, peers: Peers) -> Snapshot | None:
    try:
        return peers.patiently()(watcher.load)
    except ConfigError:
        return None  # stopped before a valid config appeared


def main() -> None:
    configure_logging("io")
    env, tuning = PodEnv.from_environ(), Tuning.from_environ()
    restarts = record_start(env.socket_dir, "io")
    stop = stop_event()
    serve_metrics(env.metrics_port, env.socket_dir)
    if importlib.util.find_spec("crc32c") is None:
        log.warning("the crc32c package is missing: Kafka record checksums run in pure Python, ~3x slower")
    log.info(
        "io sidecar of %s started (restart #%d), metrics on :%d", env.pod_name, restarts, env.metrics_port
    )
    peers = Peers(
        env,
        tuning,
        Client(env.udf_socket, "udf host"),
        Client(env.state_socket, "state sidecar"),
        Client(env.state_socket, "state sidecar (claims)"),
        uuid.uuid4().hex,
        ThreadPoolExecutor(max_workers=8, thread_name_prefix="commit"),
        stop,
    )
    watcher = ConfigWatcher(env.config_dir, env.pod_name)
    snapshot = first_snapshot(watcher, peers)
    try:
        while snapshot is not None and not stop.is_set():
            snapshot = run_runtime(peers, watcher, snapshot)
    except RETRY_ERRORS:
        if not stop.is_set():  # otherwise: SIGTERM arrived while a start-up step was retrying
            raise
    finally:
        peers.udf.close()
        peers.state.close()
        peers.claims.close()
        peers.pool.shutdown(wait=False)
        log.info("io sidecar stopped")


if __name__ == "__main__":
    main()
