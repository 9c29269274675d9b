"""One batch through the pod: poll, process in the UDF, produce, and commit exactly once.

    poll  -> process (UDF host)  -> begin + send outputs and changelog records
                                    (one transaction per input partition)
          -> prepare (state)      -> send offsets + commit (Kafka, partitions in parallel)
          -> finalize (state)

Every step is one request per batch, never per record. A partition whose step fails is handed
back to Ownership, which re-acquires it from its committed state; the others carry on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from kafka.structs import OffsetAndMetadata

from executor import changelog, dead_letters, metrics
from executor.env import Tuning
from executor.kafka_clients import OutputRouter, admin_options
from executor.ownership import RETRY_ERRORS, Ownership
from executor.partition_tasks import Task
from executor.protocol import Client

log = logging.getLogger(__name__)
Polled = dict[int, list[ConsumerRecord]]
#: Errors of a transaction step that mean the broker is unreachable rather than this partition
#: failing (a bounded step timing out, a refused connection).
BROKER_AWAY = (KafkaTimeoutError, KafkaConnectionError)
SLOW_COMMIT = 2.0  # seconds; a Kafka commit slower than this is logged with its steps
#: While waiting for records, how often the loop looks whether the config changed or a pending
#: partition is due (a move is then acted on within this, not at the end of the idle poll).
WAKE_SLICE_SECONDS = 0.02
#: How often the lag gauges are refreshed (a Prometheus scrape is every 15 s or more).
LAG_INTERVAL_SECONDS = 1.0
#: The same for an idle pod (nothing polled for IDLE_AFTER_SECONDS): it has consumed everything it
#: fetched, so its lag only changes when records arrive, and then it is busy again and refreshes at
#: once. Each refresh is a ListOffsets request to the broker; at 1 s they were 33 of 181 GIL-held
#: py-spy samples of an idle io sidecar.
LAG_IDLE_INTERVAL_SECONDS = 5.0
#: How long a lag refresh waits for the broker's end offsets (the loop waits meanwhile).
LAG_TIMEOUT_MS = 1000
#: The broker holds an idle consumer's fetch this long (it answers as soon as a record arrives,
#: so records do not wait for it). The consumer's own, shorter wait (make_consumer) bounds how
#: long a gained partition waits for the fetch in flight; it is kept while records flow, while a
#: partition is being acquired, after a config change, and for IDLE_AFTER_SECONDS after any of
#: these. Each empty fetch wakes the io sidecar: at 100 ms that was ~1% of a core per idle pod.
IDLE_FETCH_MAX_WAIT_MS = 500
IDLE_AFTER_SECONDS = 5.0
#: How often an idle pod with an API watch looks whether the config changed while it waits for
#: records (a busy one: WAKE_SLICE_SECONDS).
IDLE_SLICE_SECONDS = 0.1


class Pipeline:
    """Runs batches for the partitions Ownership holds."""

    def __init__(
        self,
        ownership: Ownership,
        udf: Client,
        router: OutputRouter,
        tuning: Tuning,
        sleep: Callable[[float], Any],
        wake: threading.Event | None = None,
    ) -> None:
        """``wake``: set when the config changed (the API watch's event); waiting for records
        ends early then, so a partition moved away is released, and one gained acquired, at once."""
        self.own = ownership
        self._wake = wake
        self.udf = udf
        self.router = router
        self.tuning = tuning
        self._sleep = sleep
        self._progress = _Progress()
        self._failures = 0  # consecutive batches the UDF host failed, for back-off
        # Batch size adapts: a failed batch shrinks the next ones (down to one record), so a
        # failure that recurs every N records cannot fail every batch forever; successes grow it.
        self._limit = tuning.batch_max_records
        self._poison = dead_letters.PoisonTracker(tuning.udf_retries)
        self._dead_letter_partitions: int | None = None
        self._lag_at = float("-inf")  # monotonic time of the last refresh of the lag gauges
        self._busy_at = time.monotonic()  # last time records flowed or the partitions changed
        self._held: frozenset[int] = frozenset()

    def run_once(self) -> int:
        """Processes one batch; returns how many records it committed."""
        self._pace_fetches()
        polled = self._poll()
        if polled:
            self._busy_at = time.monotonic()
        if not polled:
            self._update_lag()
            self._progress.add(0, self.own)
            return 0
        self._count_in(polled)
        metrics.BATCH_RECORDS.observe(sum(len(records) for records in polled.values()))
        try:
            response = self.udf.call(
                "process",
                partitions={
                    p: [[r.key, r.value, r.offset, r.timestamp] for r in records]
                    for p, records in polled.items()
                },
            )
        except RETRY_ERRORS as exc:  # nothing was sent yet: read the batch again after a pause
            self.own.rewind(polled, "udf", exc)
            self._failures += 1
            self._limit = max(1, self._limit // 4)
            self._sleep(min(5.0, 0.1 * 2**self._failures))
            return 0
        self._failures = 0
        self._limit = min(self.tuning.batch_max_records, self._limit * 2)
        metrics.UDF_LATENCY.observe(response["udf_seconds"])
        metrics.STATE_LATENCY.observe(response["state_seconds"])
        failed = _failed_records(response, polled)
        dead = {p for p, (record, _) in failed.items() if self._poison.failed(p, record.offset)}
        next_offsets = _next_offsets(polled, failed, dead)
        started = time.perf_counter()
        dead_letters = {p: failed[p] for p in dead if p in next_offsets}
        sent = self._produce(response["outputs"], response["writes"], next_offsets, dead_letters)
        done = self._commit(sent, next_offsets, response["writes"])
        metrics.COMMIT_LATENCY.observe(time.perf_counter() - started)
        self._after_failures(failed, dead, done)
        self._update_lag()
        committed = sum(sum(1 for r in polled[p] if r.offset < next_offsets[p]) for p in done)
        self._progress.add(committed, self.own)
        return committed

    def _busy(self) -> bool:
        return time.monotonic() - self._busy_at < IDLE_AFTER_SECONDS

    def _pace_fetches(self) -> None:
        """The consumer's fetch wait: its own while busy, IDLE_FETCH_MAX_WAIT_MS once idle."""
        own, now = self.own, time.monotonic()
        held = frozenset(own.active)
        if held != self._held or own.pending or self._woken():
            self._held, self._busy_at = held, now
        fetcher = getattr(own.consumer, "_fetcher", None)  # kafka-python's (pinned) fetch settings
        if fetcher is None:
            return
        busy = self._busy()
        wait = own.consumer.config["fetch_max_wait_ms"]
        fetcher.config["fetch_max_wait_ms"] = wait if busy else max(wait, IDLE_FETCH_MAX_WAIT_MS)

    def _after_failures(
        self, failed: dict[int, tuple[ConsumerRecord, str]], dead: set[int], done: list[int]
    ) -> None:
        """Points each partition whose UDF raised back at its committed offset: the failed record
        again after a pause, or the record after it once it went to the dead-letter topic."""
        own = self.own
        for p, (record, error) in failed.items():
            metrics.ERRORS.labels("udf").inc()
            task = own.active.get(p)
            if task is None:  # its transaction failed: it is acquired again from its committed state
                self._poison.forget(p)
                continue
            task.rewind(own.consumer, own.main.input_topic)  # the failed record, or past it if dead-lettered
            if p in dead and p in done:
                metrics.DEAD_LETTERS.labels(str(p)).inc()
                log.error(
                    "partition %d: the UDF kept raising on the record at offset %d (%s); sent it to %s after "
                    "%d attempts",
                    p,
                    record.offset,
                    error,
                    dead_letters.topic_name(own.main),
                    self._poison.retries + 1,
                )
                self._poison.forget(p)
            elif p not in dead:
                log.warning(
                    "partition %d: the UDF raised on the record at offset %d (%s); retrying",
                    p,
                    record.offset,
                    error,
                )

    def _poll(self) -> Polled:
        consumer, limit = self.own.consumer, self._limit
        if not self.own.active:
            self._idle()
            return {}
        for p in self._poison.due():  # a failed record's retry: from the committed offset again
            if p in self.own.active:
                self.own.active[p].rewind(consumer, self.own.main.input_topic)
        polled: Polled = {}
        count = self._merge(polled, self._first_records(limit))
        if count:
            self._gather(polled, count, limit)
        return polled

    def _gather(self, polled: Polled, count: int, limit: int) -> None:
        """Adds to a batch that has its first records: for ``batch_max_seconds``, and while it is
        still smaller than ``batch_min_records``, up to ``batch_linger_seconds`` from the first.

        Gathering up to batch_max_seconds stays: taking only what was already fetched doubled the
        transactions per second without lowering the latency (A/B in executor_throughput: commits,
        ~60 ms a batch locally, dominate it). Lingering is for a trickle: a transaction costs the
        io sidecar ~6 ms of CPU and the broker as much again whatever it carries, and at 20 lines/s
        the sample's sum pod committed 37 transactions a second of one to three records each.
        A batch that fills (any real load) is not held back, nor one holding the first records of a
        partition just gained (a move is timed to its first record), and a config change ends the wait.
        """
        tuning, consumer = self.tuning, self.own.consumer
        started = time.monotonic()
        full_at = started + tuning.batch_max_seconds
        linger_at = started + max(tuning.batch_max_seconds, tuning.batch_linger_seconds)
        enough = min(tuning.batch_min_records, limit)
        step = float("inf") if self._wake is None else WAKE_SLICE_SECONDS
        while count < limit and not self._woken():
            small = count < enough and not self._gained_in(polled)
            remaining = (linger_at if small else full_at) - time.monotonic()
            if remaining <= 0:
                return
            timeout_ms = max(1, int(min(remaining, step) * 1000))
            count += self._merge(polled, consumer.poll(timeout_ms=timeout_ms, max_records=limit - count))

    def _gained_in(self, polled: Polled) -> bool:
        """Whether the batch holds a gained partition's first records."""
        return any(getattr(self.own.active.get(p), "gained_at", None) is not None for p in polled)

    def _wait_over(self) -> float:
        """When waiting for records must end: the idle poll, or sooner for a pending partition."""
        deadline = time.monotonic() + self.tuning.idle_poll_seconds
        due = self.own.next_due()
        return deadline if due is None else min(deadline, due)

    def _woken(self) -> bool:
        return self._wake is not None and self._wake.is_set()

    def _idle(self) -> None:
        """No partition to consume: waits the idle poll, less when the config changes or a
        pending partition is due (a stop ends ``sleep`` at once)."""
        deadline = self._wait_over()
        remaining = max(0.0, deadline - time.monotonic())
        if self._wake is None:  # nothing could end the wait early but a stop: one sleep
            self._sleep(remaining)
        else:  # one wait that the config change ends (a stop is noticed within the idle poll)
            self._wake.wait(remaining)

    def _first_records(self, limit: int) -> dict[TopicPartition, list[ConsumerRecord]]:
        """The first poll of a batch: waits for records in slices, and ends early when the config
        changed or a pending partition is due, rather than at the end of the idle poll."""
        consumer, deadline = self.own.consumer, self._wait_over()
        # Without an API watch nothing but a due partition ends the wait early, and the deadline
        # covers that: one poll instead of slices (20 ms slices cost an idle pod ~2% of a core).
        # An idle pod (nothing polled for IDLE_AFTER_SECONDS) looks at the config in longer slices:
        # 20 ms slices cost it ~4% of a core, and no record waits for a move there.
        step = (
            float("inf") if self._wake is None else WAKE_SLICE_SECONDS if self._busy() else IDLE_SLICE_SECONDS
        )
        while True:
            remaining = deadline - time.monotonic()
            fetched = consumer.poll(timeout_ms=max(0, int(min(remaining, step) * 1000)), max_records=limit)
            if self._woken():  # the new config first, not after a batch: these are read again later
                self._unread(fetched)
                return {}
            if any(fetched.values()) or remaining <= step:
                return fetched

    def _unread(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        for tp, records in fetched.items():
            if records and tp.partition in self.own.active:
                self.own.consumer.seek(tp, records[0].offset)

    def _merge(self, polled: Polled, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> int:
        count = 0
        for tp, records in fetched.items():
            # Dropped: buffered records of a lost partition, and of one whose failed record waits
            # for its retry (it is sought back to that record when the retry is due).
            if records and tp.partition in self.own.active and not self._poison.holding(tp.partition):
                polled.setdefault(tp.partition, []).extend(records)
                count += len(records)
        return count

    def _count_in(self, polled: Polled) -> None:
        now = time.time()
        for p, records in polled.items():
            task = self.own.active[p]
            task.position = records[-1].offset + 1
            metrics.RECORDS_IN.labels(str(p)).inc(len(records))
            metrics.BYTES_IN.labels(str(p)).inc(
                sum(max(0, r.serialized_key_size) + max(0, r.serialized_value_size) for r in records)
            )
            if task.gained_at is not None:
                metrics.REASSIGN.observe(max(0.0, now - task.gained_at))
                log.info("partition %d: first record %.3fs after the config change", p, now - task.gained_at)
                task.gained_at = None

    def _produce(
        self,
        outputs: dict[int, list[list[Any]]],
        writes: dict[int, Any],
        next_offsets: dict[int, int],
        dead: dict[int, tuple[ConsumerRecord, str]],
    ) -> list[int]:
        """Opens each partition's transaction and sends its outputs, its changelog records (for a
        stateful UDF) and its dead letter if it has one; returns the partitions that worked."""
        topic, changelog_topic, sent = self.own.main.output_topic, self.own.recovery.topic, []
        records, size = Counter[int](), Counter[int]()
        for p in next_offsets:
            producer = self.own.active[p].producer
            try:
                producer.begin_transaction()
                for key, value in outputs.get(p, ()):
                    out = self.router(key, p)
                    producer.send(topic, value=value, key=key, partition=out)
                    records[out] += 1
                    size[out] += len(key or b"") + len(value or b"")
                if changelog_topic is not None:
                    changelog.send(producer, changelog_topic, p, writes.get(p, {}), next_offsets[p])
                if p in dead:
                    self._send_dead_letter(producer, p, *dead[p])
            except KafkaError as exc:
                self.own.retry([p], "produce", exc)
                continue
            sent.append(p)
        for out, n in records.items():
            metrics.RECORDS_OUT.labels(str(out)).inc(n)
            metrics.BYTES_OUT.labels(str(out)).inc(size[out])
        return sent

    def _send_dead_letter(self, producer: Any, partition: int, record: ConsumerRecord, error: str) -> None:
        main = self.own.main
        if self._dead_letter_partitions is None:
            self._dead_letter_partitions = dead_letters.ensure_topic(main, admin_options())
        producer.send(
            dead_letters.topic_name(main),
            key=record.key,
            value=record.value,
            headers=dead_letters.headers(main, record, error),
            partition=partition % self._dead_letter_partitions,
        )

    def _commit(self, partitions: list[int], offsets: dict[int, int], writes: dict[int, Any]) -> list[int]:
        """Two-phase commit of each partition's batch; returns the partitions that committed."""
        own = self.own
        try:
            batches = {p: [own.active[p].committed, offsets[p], writes.get(p, {})] for p in partitions}
            prepared = own.state.call("prepare", batches=batches, **own.fence())["results"]
        except RETRY_ERRORS as exc:
            own.retry(partitions, "prepare", exc)
            return []
        own.retry([p for p in partitions if prepared[p] == "fenced"], "fenced in state store")
        own.retry([p for p in partitions if prepared[p] == "behind"], "state cache behind")
        ready = [p for p in partitions if prepared[p] == "ok"]
        outcomes = list(own.pool.map(lambda p: self._commit_kafka(own.active[p], offsets[p]), ready))
        for p, error in zip(ready, outcomes, strict=True):
            if error is not None:
                metrics.TRANSACTIONS.labels("failed").inc()
                own.retry([p], "commit", error)
        committed = [p for p, error in zip(ready, outcomes, strict=True) if error is None]
        done = self._finalize(committed, offsets)
        outage = next((e for e in outcomes if isinstance(e, BROKER_AWAY)), None)
        if outage is not None:
            # The broker went away: every producer of the pod lived through it, and a producer
            # that did comes back slower than a new one (its coordinator, its transaction state
            # are stale). All partitions are acquired again with new producers, together.
            own.retry(list(own.active), "broker unreachable", outage)
        return done

    def _commit_kafka(self, task: Task, offset: int) -> BaseException | None:
        started = time.monotonic()
        try:
            tp = TopicPartition(self.own.main.input_topic, task.partition)
            task.producer.send_offsets_to_transaction(
                {tp: OffsetAndMetadata(offset, "", -1)}, self.own.main.group_id
            )
            offsets_done = time.monotonic()
            task.producer.commit_transaction()
        except KafkaError as exc:
            return exc
        if time.monotonic() - started > SLOW_COMMIT:  # a broker outage, or a slow broker: say which step
            log.warning(
                "partition %d: slow Kafka commit: offsets %.2fs, commit %.2fs",
                task.partition,
                offsets_done - started,
                time.monotonic() - offsets_done,
            )
        return None

    def _finalize(self, partitions: list[int], offsets: dict[int, int]) -> list[int]:
        own = self.own
        if not partitions:
            return []
        for p in partitions:
            own.active[p].committed = offsets[p]
            metrics.TRANSACTIONS.labels("committed").inc()
        try:
            results = own.state.call("finalize", offsets={p: offsets[p] for p in partitions}, **own.fence())[
                "results"
            ]
        except RETRY_ERRORS as exc:  # Kafka committed: recovery applies the staged writes
            own.retry(partitions, "finalize", exc)
            return partitions
        own.retry([p for p in partitions if results[p] != "ok"], "finalize refused")
        return partitions

    def _update_lag(self) -> None:
        """Sets each held partition's lag gauge, at most every LAG_INTERVAL, or LAG_IDLE_INTERVAL
        while idle: a refresh is a round trip (ListOffsets), which per batch added to latency and
        woke an idle pod. The interval is the one of the pod's state now, so records arriving after
        a quiet spell are shown as lag at once."""
        now = time.monotonic()
        if now - self._lag_at < (LAG_INTERVAL_SECONDS if self._busy() else LAG_IDLE_INTERVAL_SECONDS):
            return
        self._lag_at = now
        topic = self.own.main.input_topic
        tps = [TopicPartition(topic, p) for p in self.own.active]
        for p, lag in input_lags(self.own.consumer, tps).items():
            metrics.LAG.labels(str(p)).set(lag)


def input_lags(consumer: Any, tps: list[TopicPartition], timeout_ms: int = LAG_TIMEOUT_MS) -> dict[int, int]:
    """Records between each partition's end and the consumer's position; partitions whose figures
    could not be had this time are left out.

    The end is asked of the broker (one ListOffsets for all, at the consumer's isolation level:
    the last stable offset under read_committed), not taken from ``consumer.highwater()``: that is
    the figure of the partition's last fetch response, and a slow pod, with fetched records still
    to process, fetches nothing for that partition, so its highwater stood still while the input
    piled up. The position is the consumer's own, not the last record's offset + 1: it moves past
    the transaction markers that end a transactional input, so an idle partition shows 0.
    """
    if not tps:
        return {}
    try:
        ends = consumer.end_offsets(tps, timeout_ms=timeout_ms)
    except KafkaError:  # the broker is away or slow: no lag to report this time
        return {}
    lags = {}
    for tp in tps:
        try:
            position = consumer.position(tp, timeout_ms=timeout_ms)
        except KafkaError:  # being reset: no lag to report this time
            continue
        end = ends.get(tp)
        if end is not None and position is not None:
            lags[tp.partition] = max(0, end - position)
    return lags


class _Progress:
    """One INFO line every 30 s, so a log shows whether a pod moves and on which partitions."""

    INTERVAL = 30.0

    def __init__(self) -> None:
        self._since = time.monotonic()
        self._records = 0

    def add(self, records: int, own: Ownership) -> None:
        self._records += records
        elapsed = time.monotonic() - self._since
        if elapsed < self.INTERVAL:
            return
        positions = {p: task.position for p, task in sorted(own.active.items())}
        log.info(
            "progress: %d records committed in %.0fs; consuming %s; acquiring %s",
            self._records,
            elapsed,
            positions,
            sorted(own.pending),
        )
        self._since, self._records = time.monotonic(), 0


def _failed_records(response: dict[str, Any], polled: Polled) -> dict[int, tuple[ConsumerRecord, str]]:
    """The record each partition's UDF raised on, from the UDF host's `failed`, with the error."""
    failed = {}
    for p, (offset, error) in response.get("failed", {}).items():
        record = next(r for r in polled[int(p)] if r.offset == offset)
        failed[int(p)] = (record, str(error))
    return failed


def _next_offsets(
    polled: Polled, failed: dict[int, tuple[ConsumerRecord, str]], dead: set[int]
) -> dict[int, int]:
    """The input offset each partition's transaction commits: past the batch; up to a failed
    record (none if it was the first), or past it when it goes to the dead-letter topic."""
    offsets = {}
    for p, records in polled.items():
        if p not in failed:
            offsets[p] = records[-1].offset + 1
        elif p in dead:
            offsets[p] = failed[p][0].offset + 1
        elif failed[p][0].offset > records[0].offset:
            offsets[p] = failed[p][0].offset
    return offsets
