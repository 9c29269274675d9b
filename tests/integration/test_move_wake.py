"""The io sidecar's loop acts on a move at once: waiting for records ends when the config changes
or a pending partition is due, not at the end of the idle poll (pipeline.py, ownership.py).

Against the real broker: a real consumer assigned an empty partition, so every wait is a real
poll that finds nothing. The idle poll is set long (2 s) so an early return is unmistakable.
The wake-up itself comes from the real API server's watch, as the splitter's own account
(the namespace and account fixtures of test_configmap_watch.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from executor.config_watcher import ConfigWatcher
from executor.env import Tuning
from executor.kafka_clients import DATA_PATH, FETCH_MAX_WAIT_MS
from executor.pipeline import Pipeline
from tests.integration import test_configmap_watch as cmw
from tests.integration.test_configmap_watch import WITHIN, kubelet_dir, moved
from tests.polling import wait_until

IDLE_POLL = 2.0
#: Well under the idle poll, well over a loaded machine's scheduling delays.
PROMPTLY = 0.6


# The real API server's namespace, the splitter's account and its watches (test_configmap_watch.py).
ns, as_splitter, watches = cmw.ns, cmw.as_splitter, cmw.watches


class Owner(SimpleNamespace):
    """What the pipeline's wait reads of Ownership: its consumer and when a pending partition is due."""

    due: float | None = None

    def next_due(self) -> float | None:
        return self.due


@pytest.fixture
def consumer(kafka_bootstrap: str, admin: KafkaAdminClient, suffix: str) -> Iterator[KafkaConsumer]:
    topic = f"move-wake-{suffix}"
    admin.create_topics([NewTopic(topic, 1, 1)])
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap,
        group_id=f"move-wake-{suffix}",
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        **DATA_PATH,
    )
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_end()
    yield consumer
    consumer.close(autocommit=False)


def pipeline(owner: Owner, wake: threading.Event | None) -> Pipeline:
    tuning = Tuning(idle_poll_seconds=IDLE_POLL)
    return Pipeline(owner, udf=None, router=None, tuning=tuning, sleep=threading.Event().wait, wake=wake)  # type: ignore[arg-type]


def timed(call: Callable[[], object]) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def set_later(event: threading.Event, delay: float) -> None:
    threading.Timer(delay, event.set).start()


def test_a_config_change_ends_the_wait_for_records(consumer: KafkaConsumer) -> None:
    wake = threading.Event()
    pipe = pipeline(Owner(consumer=consumer), wake)
    set_later(wake, 0.1)
    assert timed(lambda: pipe._first_records(10)) < PROMPTLY
    wake.clear()
    assert timed(lambda: pipe._first_records(10)) >= IDLE_POLL - 0.05  # nothing to end it: the whole poll


def test_a_pending_partition_due_ends_the_wait_for_records(consumer: KafkaConsumer) -> None:
    pipe = pipeline(Owner(consumer=consumer, due=time.monotonic() + 0.1), wake=None)
    assert timed(lambda: pipe._first_records(10)) < PROMPTLY


def test_a_pod_without_partitions_wakes_on_a_config_change_or_a_due_partition(
    consumer: KafkaConsumer,
) -> None:
    wake = threading.Event()
    owner = Owner(consumer=consumer)
    pipe = pipeline(owner, wake)
    set_later(wake, 0.1)
    assert timed(pipe._idle) < PROMPTLY
    wake.clear()
    owner.due = time.monotonic() + 0.1
    assert timed(pipe._idle) < PROMPTLY
    owner.due = None
    assert timed(pipe._idle) >= IDLE_POLL - 0.05


def test_a_change_through_the_api_wakes_the_pods_loop_and_the_poll_that_takes_it_clears_that(
    ns,
    as_splitter,
    watches,
    tmp_path,
) -> None:
    """The io sidecar's loop stops waiting for records when ``changed`` is set (pipeline.py);
    a version that arrives is signalled, and a poll that took it leaves nothing signalled."""
    watch = watches(as_splitter, ns.name)
    wait_until(lambda: watch.in_sync and watch.latest(), 10, "the watch to deliver the current ConfigMap")
    watcher = ConfigWatcher(
        kubelet_dir(tmp_path, ns.splitter_config(ns.spec, 7)).path, "splitter-0", api=watch
    )
    watcher.load()
    watcher.poll()
    assert watcher.changed is watch.changed
    assert not watcher.changed.is_set()
    ns.publish(moved(ns.spec, 8), 8)
    assert watcher.changed.wait(WITHIN), "no wake-up within a second of the write"
    new = watcher.poll()
    assert new is not None
    assert new.pod.epoch == 8
    assert not watcher.changed.is_set()
    assert ConfigWatcher(tmp_path / "config", "splitter-0", api=None).changed is None
