"""Which input partitions this pod consumes, and the protocol that hands them between pods.

A partition the config gives this pod is *pending* until it is acquired:

1. claim it in the state store at the config's epoch. The claim waits (up to a grace period)
   until the previous owner released it after its last commit, so B starts exactly where A
   stopped; after the grace period (A crashed or has not seen the new config yet) it is forced.
   A claim from an older epoch than the store's is refused, so a pod with a stale config never
   takes a partition back.
2. init a producer with the partition's transactional id: this fences the previous owner in
   Kafka and commits or aborts its open transaction;
3. read the committed input offset (now final), let the state store resolve a half-finished
   batch against it and, for a stateful UDF, bring the state cache in line with the changelog
   (executor/recovery.py: nothing, a restore, or a seed);
4. seek there and start consuming.

A partition the config takes away is released right after the batch in flight is committed.
Any failure of a partition (a broker restart, a peer restart, a fence) sends it back to
pending, so recovering from an error is the same, tested, path as gaining a partition.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from executor import metrics
from executor.config import MainConfig, PodConfig
from executor.env import Tuning
from executor.kafka_clients import BoundedProducer, committed_offsets
from executor.partition_tasks import Pending, Task, open_producer
from executor.protocol import Client, DisconnectedError, RemoteError
from executor.recovery import StateRecovery

log = logging.getLogger(__name__)
RETRY_ERRORS = (KafkaError, DisconnectedError, RemoteError, OSError)
#: Longest pause between attempts to acquire a partition. Short, because an attempt made while the
#: broker is away is the one that must resume processing as soon as it answers again.
MAX_BACKOFF = 1.0


class Ownership:
    """Acquires, consumes and gives up partitions; call only between batches."""

    def __init__(
        self,
        main: MainConfig,
        pod: str,
        token: str,
        consumer: KafkaConsumer,
        state: Client,
        stateful: bool,
        tuning: Tuning,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.main, self.pod, self.token = main, pod, token
        self.consumer, self.state, self.stateful = consumer, state, stateful
        self.tuning, self.pool = tuning, pool
        self.recovery = StateRecovery(main, pod, consumer, state, stateful)
        self.epoch = -1
        self.active: dict[int, Task] = {}
        self.pending: dict[int, Pending] = {}

    def fence(self) -> dict[str, object]:
        return {"epoch": self.epoch, "token": self.token}

    def apply(self, pod: PodConfig, changed_at: float | None) -> None:
        """Adopts a new assignment: release what was lost, re-claim what stays, queue what was gained."""
        wanted = set(pod.partitions)
        lost = [p for p in self.active if p not in wanted]
        self.release(lost)
        for p in [p for p in self.pending if p not in wanted]:
            del self.pending[p]
            metrics.forget_partition(p)
        epoch_changed = pod.epoch != self.epoch
        self.epoch = pod.epoch
        metrics.EPOCH.set(pod.epoch)
        if epoch_changed and self.active:
            self._reclaim(list(self.active))
        grace = time.monotonic() + self.tuning.handoff_grace_seconds
        for p in wanted - self.active.keys() - self.pending.keys():
            self.pending[p] = Pending(force_at=grace, gained_at=changed_at)
            metrics.OWNED.labels(str(p)).set(0)
        log.info(
            "assignment epoch %d: consuming %s, acquiring %s, released %s",
            self.epoch,
            sorted(self.active),
            sorted(self.pending),
            sorted(lost),
        )

    def acquire_due(self) -> None:
        """Tries to acquire the pending partitions whose turn has come."""
        now = time.monotonic()
        due = [p for p, pend in self.pending.items() if pend.next_try <= now]
        if not due:
            return
        forced = [p for p in due if now >= self.pending[p].force_at]
        try:
            claims = self._claim([p for p in due if p not in forced], force=False)
            claims |= self._claim(forced, force=True)
        except RETRY_ERRORS as exc:
            self._backoff(due, "claim", exc)
            return
        for p, outcome in claims.items():
            if outcome == "ok":
                metrics.HANDOFFS.labels("forced" if p in forced else "clean").inc()
        for p, outcome in claims.items():
            if outcome == "wait":
                self.pending[p].next_try = now + 0.05
            elif outcome == "stale":
                log.warning(
                    "partition %d belongs to a newer epoch than %d; waiting for my config", p, self.epoch
                )
                self.pending[p].next_try = now + 1.0
        self._start([p for p, outcome in claims.items() if outcome == "ok"])

    def next_due(self) -> float | None:
        """When (monotonic) the next pending partition is due for an attempt; None if none is
        pending. The loop waits for records no longer than that, so a claim that found the
        previous owner still holding the partition is tried again on time."""
        return min((pend.next_try for pend in self.pending.values()), default=None)

    def retry(self, partitions: Iterable[int], kind: str, error: BaseException | None = None) -> None:
        """Gives up the current state of failed partitions; they are acquired again from scratch."""
        partitions = [p for p in partitions if p in self.active]
        if not partitions:
            return
        log.warning("partitions %s: %s (%s); re-acquiring", partitions, kind, error)
        metrics.ERRORS.labels(kind).inc()
        for p in partitions:
            self.active.pop(p).close(abort=True)
            self.pending[p] = Pending(force_at=time.monotonic() + self.tuning.handoff_grace_seconds)
            self.pending[p].next_try = time.monotonic() + 0.2
            metrics.OWNED.labels(str(p)).set(0)
        self._assign()

    def rewind(self, partitions: Iterable[int], kind: str, error: BaseException) -> None:
        """Re-reads uncommitted records later; for failures before any transaction was opened."""
        log.warning(
            "batch of %s failed at %s (%s); it will be processed again", sorted(partitions), kind, error
        )
        metrics.ERRORS.labels(kind).inc()
        for p in partitions:
            if p in self.active:
                self.active[p].rewind(self.consumer, self.main.input_topic)

    def release(self, partitions: Iterable[int]) -> None:
        """Stops consuming committed partitions and tells their next owner it may start."""
        partitions = [p for p in partitions if p in self.active]
        if not partitions:
            return
        for p in partitions:
            self.active.pop(p).close(abort=False)
            metrics.forget_partition(p)
        self._assign()
        try:
            self.state.call("release", partitions=partitions, **self.fence())
        except RETRY_ERRORS as exc:  # the next owner then waits out the grace period
            log.warning("could not mark %s released: %s", partitions, exc)

    def release_all(self) -> None:
        self.release(list(self.active))
        self.pending.clear()

    def _claim(self, partitions: list[int], force: bool) -> dict[int, str]:
        if not partitions:
            return {}
        response = self.state.call(
            "claim", partitions=partitions, owner=self.pod, force=force, **self.fence()
        )
        return {int(p): outcome for p, outcome in response["results"].items()}

    def _reclaim(self, partitions: list[int]) -> None:
        try:
            claims = self._claim(partitions, force=False)
        except RETRY_ERRORS as exc:
            self.retry(partitions, "reclaim", exc)
            return
        self.retry([p for p, outcome in claims.items() if outcome != "ok"], "reclaim refused")

    def _start(self, partitions: list[int]) -> None:
        if not partitions:
            return
        began = time.monotonic()
        producers = list(self.pool.map(lambda p: open_producer(self.main, self.pod, p), partitions))
        produced = time.monotonic()
        opened: dict[int, BoundedProducer] = {}
        for p, producer in zip(partitions, producers, strict=True):
            if isinstance(producer, BaseException):
                self._backoff([p], "init_transactions", producer)
            else:
                opened[p] = producer
        started = self._recover(opened)
        self._assign()
        for p in started:
            self.active[p].rewind(self.consumer, self.main.input_topic)
            metrics.OWNED.labels(str(p)).set(1)
        if started:  # the steps' times: where a slow takeover spends it (benchmarks/kube_move_latency.py)
            log.info(
                "acquired partitions %s at epoch %d (producers %.0f ms, offsets and recovery %.0f ms)",
                started,
                self.epoch,
                (produced - began) * 1000,
                (time.monotonic() - produced) * 1000,
            )

    def _recover(self, opened: dict[int, BoundedProducer]) -> list[int]:
        """Reads the committed offsets (one request for all), brings each state cache in line and
        makes the partitions active; returns those that were."""
        if not opened:
            return []
        try:
            committed = committed_offsets(self.consumer, [self._tp(p) for p in opened], timeout_ms=15000)
            empty = self.recovery.empty_changelogs(list(opened))
        except RETRY_ERRORS as exc:
            for producer in opened.values():
                producer.discard()
            self._backoff(list(opened), "recover", exc)
            return []
        started = []
        for p, producer in opened.items():
            try:
                resume = self.recovery.resume(p, producer, committed[p], self.fence(), p in empty)
            except RETRY_ERRORS as exc:
                producer.discard()
                self._backoff([p], "recover", exc)
                continue
            pend = self.pending.pop(p)
            self.active[p] = Task(p, producer, resume, gained_at=pend.gained_at, position=resume)
            started.append(p)
        return started

    def _backoff(self, partitions: list[int], kind: str, error: BaseException) -> None:
        metrics.ERRORS.labels(kind).inc()
        for p in partitions:
            pend = self.pending[p]
            pend.attempts += 1
            pend.next_try = time.monotonic() + min(MAX_BACKOFF, 0.1 * 2**pend.attempts)
        log.warning(
            "acquiring %s failed at %s (%s: %s); retrying", partitions, kind, type(error).__name__, error
        )

    def _assign(self) -> None:
        self.consumer.assign([self._tp(p) for p in sorted(self.active)])

    def _tp(self, partition: int) -> TopicPartition:
        return TopicPartition(self.main.input_topic, partition)
