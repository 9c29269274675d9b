"""The io loop costs no latency and no idle CPU it does not need (issue 17 item 7, pipeline.py).

- A pod with nothing to consume and no API watch waits in one sleep, not in 20 ms slices that
  nothing could end early.
- An idle consumer's fetches wait IDLE_FETCH_MAX_WAIT_MS on the broker (each empty fetch wakes
  the io sidecar), a busy one or one whose partitions change its own shorter wait.
- The lag gauges are refreshed at most every LAG_INTERVAL_SECONDS: each refresh is a round trip
  through the Kafka client's network thread. An idle pod refreshes them every
  LAG_IDLE_INTERVAL_SECONDS, and at once when records arrive.
- The lag is the partition's end as the broker says it now, not the highwater of the last fetch
  response, which stands still for a slow pod that has fetched records still to process.

Against the real broker where records are involved: a real consumer of a real topic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from executor import metrics
from executor import pipeline as pipeline_module
from executor.env import Tuning
from executor.kafka_clients import DATA_PATH, FETCH_MAX_WAIT_MS
from executor.pipeline import LAG_INTERVAL_SECONDS, Pipeline

#: Well over a loaded machine's scheduling delays.
PROMPTLY = 1.0


class Owner(SimpleNamespace):
    """What the batch loop reads of Ownership: its consumer, the partitions it holds, what is due."""

    due: float | None = None

    def next_due(self) -> float | None:
        return self.due


@pytest.fixture
def topic(kafka_bootstrap: str, admin: KafkaAdminClient, suffix: str) -> str:
    name = f"lean-loop-{suffix}"
    admin.create_topics([NewTopic(name, 1, 1)])
    return name


@pytest.fixture
def consumer(kafka_bootstrap: str, topic: str, suffix: str) -> Iterator[KafkaConsumer]:
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap,
        group_id=f"lean-loop-{suffix}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        **DATA_PATH,
    )
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    yield consumer
    consumer.close(autocommit=False)


def pipeline(owner: Owner, tuning: Tuning, sleep: Any = None) -> Pipeline:
    sleep = sleep or threading.Event().wait
    return Pipeline(owner, udf=None, router=None, tuning=tuning, sleep=sleep, wake=None)  # type: ignore[arg-type]


def test_a_pod_without_partitions_or_api_watch_waits_in_one_sleep() -> None:
    sleeps: list[float] = []
    pipe = pipeline(Owner(consumer=None, active={}), Tuning(idle_poll_seconds=0.2), sleep=sleeps.append)
    pipe._poll()
    assert len(sleeps) == 1, f"an idle pod woke {len(sleeps)} times in one idle poll"
    assert 0.1 < sleeps[0] <= 0.2


class CountingConsumer:
    """The real consumer, counting its poll() calls and the position() calls of the lag refresh."""

    def __init__(self, consumer: KafkaConsumer) -> None:
        self._consumer = consumer
        self.positions = 0
        self.polls = 0

    def poll(self, *args: Any, **kwargs: Any) -> Any:
        self.polls += 1
        return self._consumer.poll(*args, **kwargs)

    def position(self, *args: Any, **kwargs: Any) -> Any:
        self.positions += 1
        return self._consumer.position(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


def test_the_lag_is_refreshed_at_most_once_a_lag_interval(topic: str, consumer: KafkaConsumer) -> None:
    counting = CountingConsumer(consumer)
    owner = Owner(consumer=counting, active={0: object()}, main=SimpleNamespace(input_topic=topic))
    pipe = pipeline(owner, Tuning())
    pipe._update_lag()
    assert counting.positions == 1
    for _ in range(20):
        pipe._update_lag()
    assert counting.positions == 1, "the lag was refreshed again within its interval"
    time.sleep(LAG_INTERVAL_SECONDS + 0.05)
    pipe._update_lag()
    assert counting.positions == 2, "the lag was not refreshed after its interval"


def test_an_idle_pod_refreshes_the_lag_less_often_and_at_once_when_records_arrive(
    topic: str, consumer: KafkaConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "IDLE_AFTER_SECONDS", 0.2)
    counting = CountingConsumer(consumer)
    owner = Owner(consumer=counting, active={0: object()}, main=SimpleNamespace(input_topic=topic))
    pipe = pipeline(owner, Tuning())
    time.sleep(0.3)  # nothing polled since it started: idle
    pipe._update_lag()
    assert counting.positions == 1
    time.sleep(LAG_INTERVAL_SECONDS + 0.05)
    pipe._update_lag()
    assert counting.positions == 1, "an idle pod refreshed its lag at the busy interval"
    pipe._busy_at = time.monotonic()  # records arrived (what run_once notes)
    pipe._update_lag()
    assert counting.positions == 2, "the lag was not refreshed when records arrived after a quiet spell"
    pipe._update_lag()
    assert counting.positions == 2, "a busy pod refreshed its lag on every batch"
    time.sleep(LAG_INTERVAL_SECONDS + 0.05)
    pipe._busy_at = time.monotonic()
    pipe._update_lag()
    assert counting.positions == 3, "a busy pod did not refresh its lag after the busy interval"


def produce(bootstrap: str, topic: str, count: int) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(count):
        producer.send(topic, value=b"%d" % i, partition=0)
    producer.flush()
    producer.close()


def test_the_lag_of_a_slow_pod_counts_the_records_that_arrived_since_its_last_fetch(
    kafka_bootstrap: str, topic: str, suffix: str
) -> None:
    """A pod still working through fetched records sends no fetch for that partition, so the
    consumer's highwater is the one of its last fetch: the lag must count what arrived since."""
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap,
        group_id=f"lean-loop-slow-{suffix}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        **DATA_PATH,
    )
    tp = TopicPartition(topic, 0)
    try:
        consumer.assign([tp])
        produce(kafka_bootstrap, topic, 100)
        deadline = time.monotonic() + 30
        taken = 0
        while not taken and time.monotonic() < deadline:  # one fetch brings all 100; 10 are taken
            taken = sum(len(r) for r in consumer.poll(timeout_ms=500, max_records=10).values())
        assert taken == 10, f"the consumer took {taken} records of the first 100"
        produce(kafka_bootstrap, topic, 100)
        taken += sum(len(r) for r in consumer.poll(timeout_ms=0, max_records=10).values())
        assert taken == 20
        assert consumer.highwater(tp) == 100, "the setup failed: the consumer fetched after the 2nd 100"
        owner = Owner(consumer=consumer, active={0: object()}, main=SimpleNamespace(input_topic=topic))
        pipeline(owner, Tuning())._update_lag()
        assert metrics.LAG.labels("0")._value.get() == 200 - 20, "the lag is the stale highwater's"
    finally:
        consumer.close(autocommit=False)


def fetch_wait(consumer: KafkaConsumer) -> int:
    return consumer._fetcher.config["fetch_max_wait_ms"]


def test_an_idle_consumer_fetches_with_a_long_wait_and_a_busy_or_changing_one_with_its_own(
    consumer: KafkaConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "IDLE_AFTER_SECONDS", 0.2)
    owner = Owner(consumer=consumer, active={0: object()}, pending={})
    pipe = pipeline(owner, Tuning())
    pipe._pace_fetches()
    assert fetch_wait(consumer) == FETCH_MAX_WAIT_MS, "a pod that just started is not idle yet"
    time.sleep(0.3)
    pipe._pace_fetches()
    assert fetch_wait(consumer) == pipeline_module.IDLE_FETCH_MAX_WAIT_MS
    owner.pending = {1: object()}  # a partition being acquired: its first fetch must not wait long
    pipe._pace_fetches()
    assert fetch_wait(consumer) == FETCH_MAX_WAIT_MS
    owner.pending = {}
    time.sleep(0.3)
    pipe._pace_fetches()
    assert fetch_wait(consumer) == pipeline_module.IDLE_FETCH_MAX_WAIT_MS
    owner.active = {0: object(), 1: object()}  # the partitions changed
    pipe._pace_fetches()
    assert fetch_wait(consumer) == FETCH_MAX_WAIT_MS


def test_an_idle_pod_with_an_api_watch_looks_at_the_config_in_longer_slices_and_still_wakes_promptly(
    consumer: KafkaConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a cluster the API watch's event ends the wait for records; the poll is sliced so the
    loop can look at it. An idle pod slices at IDLE_SLICE_SECONDS, not every 20 ms (~4% of a core)."""
    monkeypatch.setattr(pipeline_module, "IDLE_AFTER_SECONDS", 0.2)
    counting, wake = CountingConsumer(consumer), threading.Event()
    owner = Owner(consumer=counting, active={0: object()}, pending={})
    pipe = Pipeline(
        owner, udf=None, router=None, tuning=Tuning(idle_poll_seconds=1.0), sleep=wake.wait, wake=wake
    )  # type: ignore[arg-type]
    time.sleep(0.3)
    pipe._first_records(10)
    slices = 1.0 / pipeline_module.IDLE_SLICE_SECONDS
    assert counting.polls <= slices + 2, f"an idle pod polled {counting.polls} times in one idle poll"
    threading.Timer(0.1, wake.set).start()
    started = time.monotonic()
    pipe._first_records(10)
    assert time.monotonic() - started < PROMPTLY, "the config change did not end the idle pod's wait"


def test_a_pod_without_partitions_with_an_api_watch_waits_once_and_wakes_on_the_change() -> None:
    wake, sleeps = threading.Event(), []
    owner = Owner(consumer=None, active={})
    pipe = Pipeline(
        owner, udf=None, router=None, tuning=Tuning(idle_poll_seconds=2.0), sleep=sleeps.append, wake=wake
    )  # type: ignore[arg-type]
    threading.Timer(0.1, wake.set).start()
    started = time.monotonic()
    pipe._poll()
    assert time.monotonic() - started < PROMPTLY, "the config change did not end the wait"
    assert sleeps == [], "the wait was cut into sleeps"


class OnFirstRecords(CountingConsumer):
    """The real consumer; ``then`` runs once, when a poll first returns records (the batch began)."""

    def __init__(self, consumer: KafkaConsumer, then: Any) -> None:
        super().__init__(consumer)
        self._then = then

    def poll(self, *args: Any, **kwargs: Any) -> Any:
        fetched = super().poll(*args, **kwargs)
        if self._then is not None and any(fetched.values()):
            self._then, then = None, self._then
            then()
        return fetched


def late_record(bootstrap: str, topic: str, after: float) -> Any:
    """A callable that produces one more record ``after`` seconds later, in a thread of its own."""
    return lambda: threading.Timer(after, produce, (bootstrap, topic, 1)).start()


def trickle(batch_min_records: int, batch_linger_seconds: float) -> Tuning:
    """Tuning with a 50 ms batch window and the given linger (and a long idle poll)."""
    return Tuning(
        batch_max_seconds=0.05,
        batch_min_records=batch_min_records,
        batch_linger_seconds=batch_linger_seconds,
        idle_poll_seconds=5,
    )


def batch_of(pipe: Pipeline) -> tuple[int, float]:
    """The records of the next batch, and how long gathering it took."""
    started = time.monotonic()
    polled = pipe._poll()
    return sum(len(records) for records in polled.values()), time.monotonic() - started


def test_a_trickle_lingers_so_one_transaction_carries_what_arrives_meanwhile(
    kafka_bootstrap: str, topic: str, consumer: KafkaConsumer
) -> None:
    """A batch smaller than batch_min_records gathers on up to batch_linger_seconds: a record
    arriving after batch_max_seconds joins it instead of costing a transaction of its own."""
    produce(kafka_bootstrap, topic, 3)
    reader = OnFirstRecords(consumer, late_record(kafka_bootstrap, topic, after=0.3))
    owner = Owner(consumer=reader, active={0: object()})
    tuning = trickle(batch_min_records=256, batch_linger_seconds=3.0)
    count, took = batch_of(pipeline(owner, tuning))
    assert count == 4, f"the batch held {count} records: one arriving 0.3 s after its first did not join it"
    assert took >= 3.0, f"the batch was cut after {took:.2f}s with {count} of 256 records"


def test_a_batch_that_reaches_batch_min_records_is_not_held_back(
    kafka_bootstrap: str, topic: str, consumer: KafkaConsumer
) -> None:
    produce(kafka_bootstrap, topic, 10)
    owner = Owner(consumer=consumer, active={0: object()})
    tuning = trickle(batch_min_records=5, batch_linger_seconds=30.0)
    count, took = batch_of(pipeline(owner, tuning))
    assert count >= 5
    assert took < PROMPTLY + 0.05, f"a batch of {count} records (enough: 5) waited {took:.2f}s"


def test_a_config_change_ends_a_lingering_batch(
    kafka_bootstrap: str, topic: str, consumer: KafkaConsumer
) -> None:
    """A move must not wait for a trickle's batch to linger out: the batch commits what it has and
    the loop applies the new config."""
    produce(kafka_bootstrap, topic, 3)
    wake = threading.Event()
    reader = OnFirstRecords(consumer, lambda: threading.Timer(0.2, wake.set).start())
    owner = Owner(consumer=reader, active={0: object()}, pending={})
    tuning = trickle(batch_min_records=256, batch_linger_seconds=30.0)
    pipe = Pipeline(owner, udf=None, router=None, tuning=tuning, sleep=wake.wait, wake=wake)  # type: ignore[arg-type]
    count, took = batch_of(pipe)
    assert count == 3
    assert took < 0.2 + PROMPTLY, f"the config change did not end the batch's linger ({took:.2f}s)"


def test_a_gained_partitions_first_records_are_not_held_back(
    kafka_bootstrap: str, topic: str, consumer: KafkaConsumer
) -> None:
    """A move is timed to the gained partition's first record: its first batch does not linger."""
    produce(kafka_bootstrap, topic, 3)
    owner = Owner(consumer=consumer, active={0: SimpleNamespace(gained_at=time.time())})
    count, took = batch_of(pipeline(owner, trickle(batch_min_records=256, batch_linger_seconds=5.0)))
    assert count == 3
    assert took < PROMPTLY + 0.05, f"a gained partition's first batch lingered {took:.2f}s"
