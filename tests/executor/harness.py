"""Test support for the end-to-end tests: text in, totals out, and polling with deadlines."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError

from executor.cleanup import delete_deployment_data
from tests.localpod import LocalEntity, PodProcesses, metric_sum
from tests.polling import wait_until

WORDS = [f"w{i:03d}" for i in range(400)]


def make_lines(count: int, seed: int) -> list[str]:
    """Short lines of 1-6 words from a 400-word vocabulary, skewed like natural text."""
    rnd = random.Random(seed)
    weights = [1 / (i + 1) ** 0.8 for i in range(len(WORDS))]
    return [" ".join(rnd.choices(WORDS, weights, k=rnd.randint(1, 6))) for _ in range(count)]


class LineProducer:
    """Writes lines round-robin over the input partitions, at once or at a steady rate."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, idempotent: bool = True) -> None:
        """`idempotent=False` for a producer that must ride a broker restart without a stall: the
        ground truth is what the topic holds, so a line written twice is simply counted twice."""
        self.topic, self.partitions = topic, partitions
        self.sent = 0
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            linger_ms=5,
            enable_idempotence=idempotent,
            acks="all",
            delivery_timeout_ms=170000,
            request_timeout_ms=15000,
            max_block_ms=170000,
            # Back at the broker within 0.1 s of its return (kafka-python's back-off grows to 30 s):
            # a test that measures how soon pods resume after a broker outage needs their input back.
            reconnect_backoff_max_ms=100,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def produce(self, lines: list[str]) -> None:
        for line in lines:
            self._producer.send(self.topic, value=line.encode(), partition=self.sent % self.partitions)
            self.sent += 1
        self._producer.flush()

    def start(self, lines: list[str], per_second: float) -> None:
        """Produces `lines` in the background at about `per_second`, until they run out or stop()."""
        self._thread = threading.Thread(target=self._steady, args=(lines, per_second), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._producer.flush()
        self._producer.close()
        if self.error:
            raise self.error

    def _steady(self, lines: list[str], per_second: float) -> None:
        started, chunk = time.monotonic(), max(1, int(per_second / 20))
        try:
            for start in range(0, len(lines), chunk):
                if self._stop.is_set():
                    return
                self.produce(lines[start : start + chunk])
                ahead = self.sent / per_second - (time.monotonic() - started)
                if ahead > 0:
                    self._stop.wait(ahead)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc


def read_topic(bootstrap: str, topic: str, partitions: int, committed_only: bool) -> list[Any]:
    """Every record of a topic, up to its current end."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed" if committed_only else "read_uncommitted",
    )
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    ends = consumer.end_offsets(tps)
    records: list[Any] = []
    try:
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


def count_words(bootstrap: str, topic: str, partitions: int) -> Counter[str]:
    """The exact word counts of what the input topic really holds (ground truth)."""
    counts: Counter[str] = Counter()
    for record in read_topic(bootstrap, topic, partitions, committed_only=False):
        counts.update(record.value.decode().split())
    return counts


class Totals:
    """The newest total per word on the sum entity's output topic, as a read_committed reader sees it."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.latest: dict[str, int] = {}
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
        )
        self._consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        self._consumer.seek_to_beginning()

    def poll(self) -> dict[str, int]:
        for batch in self._consumer.poll(timeout_ms=200).values():
            for record in batch:
                self.latest[record.key.decode()] = int(record.value)
        return self.latest

    def wait_exact(self, expected: Counter[str], timeout: float) -> None:
        """Waits until the totals equal `expected`; fails at once when a word is counted twice."""

        def exact() -> bool:
            latest = self.poll()
            over = {w: (n, expected[w]) for w, n in latest.items() if n > expected[w]}
            assert not over, f"counted twice (total, exact): {dict(list(over.items())[:10])}"
            return latest == dict(expected)

        try:
            wait_until(exact, timeout, "exact totals")
        except AssertionError as error:
            missing = {
                w: (self.latest.get(w, 0), n) for w, n in expected.items() if self.latest.get(w, 0) != n
            }
            raise AssertionError(
                f"{error}; differing words (total, exact): {dict(list(missing.items())[:10])}"
            ) from None

    def close(self) -> None:
        self._consumer.close()


class WordCountTopology:
    """word-count (text lines -> (word, n)) feeding sum ((word, n) -> (word, total)), 6 partitions each."""

    PARTITIONS = 6

    def __init__(
        self,
        bootstrap: str,
        redis_url: str,
        run_dir: Path,
        name: str,
        env: dict[str, str],
        counter_udf: str = "executor.samples.word_count:udf",
    ) -> None:
        self.bootstrap, self.redis_url, self.name = bootstrap, redis_url, name
        self.lines_topic, self.counts_topic, self.totals_topic = (
            f"{name}-lines",
            f"{name}-counts",
            f"{name}-totals",
        )
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            admin.create_topics([NewTopic(t, self.PARTITIONS, 1) for t in self.topics])
        finally:
            admin.close()
        self.counter = LocalEntity(
            run_dir,
            self._main(name, "word-count", self.lines_topic, self.counts_topic, redis_url),
            counter_udf,
            env,
        )
        self.summer = LocalEntity(
            run_dir,
            self._main(name, "sum", self.counts_topic, self.totals_topic, redis_url),
            "executor.samples.sum:udf",
            env,
        )

    @property
    def topics(self) -> list[str]:
        return [self.lines_topic, self.counts_topic, self.totals_topic]

    def _main(self, deployment: str, entity: str, source: str, sink: str, redis_url: str) -> dict[str, Any]:
        return {
            "deployment": deployment,
            "entity": entity,
            "bootstrapServers": self.bootstrap,
            "inputTopic": source,
            "outputTopic": sink,
            "outputPartitions": self.PARTITIONS,
            "stateBackend": {"kind": "redis", "url": redis_url},
        }

    def pods(self) -> list[PodProcesses]:
        return [*self.counter.pods.values(), *self.summer.pods.values()]

    def stop(self) -> None:
        """Stops the pods and removes everything the test made, as deleting a deployment does."""
        self.counter.stop()
        self.summer.stop()
        try:
            delete_deployment_data(self.name, self.bootstrap, self.redis_url)
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
            try:  # its own topics and any the pods made under its name (dead letters)
                admin.delete_topics([t for t in admin.list_topics() if t.startswith(self.name)])
            finally:
                admin.close()
        except (KafkaError, redis.RedisError):
            pass  # a server the test took away; leftovers have unique names and harm nothing

    def assert_counts_topic_is_exact(self, total_words: int) -> None:
        """Stage one alone is exactly-once too: its committed counts add up to the words read."""
        records = read_topic(self.bootstrap, self.counts_topic, self.PARTITIONS, committed_only=True)
        assert sum(int(r.value) for r in records) == total_words


def wait_for_exact_totals(topo: WordCountTopology, timeout: float = 120) -> Counter[str]:
    """Waits until the totals topic holds exactly the word counts of everything in the input
    topic, then checks the committed counts topic too; returns the expected counts."""
    expected = count_words(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    totals = Totals(topo.bootstrap, topo.totals_topic, topo.PARTITIONS)
    try:
        totals.wait_exact(expected, timeout=timeout)
    finally:
        totals.close()
    topo.assert_counts_topic_is_exact(sum(expected.values()))
    return expected


def split(partitions: int, pods: int, prefix: str) -> dict[str, list[int]]:
    """Partitions dealt round-robin over `pods` pods named prefix-0, prefix-1, ..."""
    return {f"{prefix}-{i}": list(range(i, partitions, pods)) for i in range(pods)}


def records_in(pod: PodProcesses) -> float:
    return metric_sum(pod.metrics(), "invoker_records_in_total")


def consuming(
    entity: LocalEntity, assignment: dict[str, list[int]], since: dict[tuple[str, str], float]
) -> bool:
    """True once every pod owns each partition it was given and has consumed from it since `since`."""
    for name, partitions in assignment.items():
        try:
            samples = entity.pods[name].metrics()
        except OSError:  # still starting: its endpoint is not up yet
            return False
        for p in map(str, partitions):
            if samples.get(("invoker_partition_owned", (("partition", p),))) != 1:
                return False
            if samples.get(("invoker_records_in_total", (("partition", p),)), 0) <= since.get((name, p), 0):
                return False
    return True


def consumed_so_far(entity: LocalEntity) -> dict[tuple[str, str], float]:
    """Records consumed per (pod, partition) until now, for `consuming`."""
    seen: dict[tuple[str, str], float] = {}
    for name, pod in entity.pods.items():
        try:
            samples = pod.metrics()
        except OSError:
            continue
        for (metric, labels), value in samples.items():
            if metric == "invoker_records_in_total":
                seen[(name, dict(labels)["partition"])] = value
    return seen


def reassign_and_wait(entity: LocalEntity, assignment: dict[str, list[int]], timeout: float = 60) -> None:
    """Applies an assignment and waits until every pod consumes every partition it was given."""
    before = consumed_so_far(entity)
    entity.assign(assignment)
    wait_until(
        lambda: consuming(entity, assignment, before), timeout, f"pods consuming {assignment}", interval=0.2
    )


def caught_up(entity: LocalEntity, records: float) -> bool:
    """True once every pod's consumer lag, over all its partitions, is under ``records``."""
    try:
        lags = [metric_sum(pod.metrics(), "invoker_consumer_lag") for pod in entity.pods.values()]
    except OSError:  # a metrics endpoint not up yet
        return False
    return max(lags) < records


def rates_caught_up(
    entity: LocalEntity, seconds: float, records: float, timeout: float = 120
) -> dict[str, float]:
    """:func:`rates` once every pod has caught up to within ``records``: right after a move, a pod
    clearing the backlog of what it gained (or one stalled for a moment by the broker) consumes at
    its own speed, not at its share of the input, which is what the window is for."""
    what = f"every pod's lag under {records:.0f}"
    wait_until(lambda: caught_up(entity, records), timeout, what, interval=0.2)
    return rates(entity, seconds)


def rates(entity: LocalEntity, seconds: float) -> dict[str, float]:
    """Records per second each pod consumed over a window of `seconds`."""
    first = {name: (time.monotonic(), records_in(pod)) for name, pod in entity.pods.items()}
    time.sleep(seconds)  # a measurement window, not a wait for a condition
    return {
        name: (records_in(pod) - n) / (time.monotonic() - t)
        for (name, (t, n)), pod in zip(first.items(), entity.pods.values(), strict=True)
    }
