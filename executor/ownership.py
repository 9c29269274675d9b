"""Which input partitions this pod consumes, and the protocol that hands them between pods.

A partition the config gives this pod is *pending* until it is acquired:

1. claim it in the state store at the config's epoch. The claim waits (up to a grace period)
   until the previous owner released it after its last commit, so B starts exactly where A
   stopped; after the grace period (A crashed or has not seen the new config yet) it is forced.
   The waiting is done off the batch loop (partition_tasks.ClaimWaiter), which claims within
   ~10 ms of the release and runs step 2 at once, so a move does not wait for a batch of the
   gaining pod's other partitions.
   A claim from an older epoch than the store's is refused, so a pod with a stale config never
   takes a partition back.
   With an API watch the waiting starts ahead of the loop: the moment the watch event of a
   newer epoch arrives, a thread hands what it gains to the waiter at that epoch (the claim
   and the producer of step 2 go on while the loop finishes its batch in flight); the loop
   takes the results once it runs that epoch, and gives back those of a config that moved on.
2. init a producer with the partition's transactional id: this fences the previous owner in
   Kafka and commits or aborts its open transaction;
3. read the committed input offset (now final), let the state store resolve a half-finished
   batch against it and, for a stateful UDF, bring the state cache in line with the changelog
   (executor/recovery.py: nothing, a restore, or a seed);
4. seek there and start consuming.

A partition the config takes away is released right after the batch in flight is committed
(in the state store first, then its producer is closed: the next owner waits for the former).
Any failure of a partition (a broker restart, a peer restart, a fence) sends it back to
pending, so recovering from an error is the same, tested, path as gaining a partition.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from executor import metrics
from executor.config import MainConfig, PodConfig
from executor.env import Tuning
from executor.kafka_clients import BoundedProducer, committed_offsets
from executor.partition_tasks import Claimed, ClaimWaiter, Pending, Task, open_producer
from executor.protocol import Client, DisconnectedError, RemoteError
from executor.recovery import StateRecovery

log = logging.getLogger(__name__)
#: While the claim waiter waits, how often the loop looks for what it claimed.
WAITED_SLICE = 0.02
RETRY_ERRORS = (KafkaError, DisconnectedError, RemoteError, OSError)
#: Longest pause between attempts to acquire a partition. Short, because an attempt made while the
#: broker is away is the one that must resume processing as soon as it answers again: at 1 s the
#: slowest pod resumed p50 1.71 s after the broker could commit again, at 0.25 s 1.34 s
#: (benchmarks/broker_outage.py). A refused or rejected attempt costs next to nothing.
MAX_BACKOFF = 0.25
#: The claim-ahead thread's waits: for a watch event, and while the loop has not polled the
#: version it already acted on (the event stays set until the loop does).
AHEAD_IDLE_SECONDS = 1.0
AHEAD_SLICE_SECONDS = 0.01


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
        claims: Client,
        wake: threading.Event | None = None,
        ahead: Callable[[], tuple[PodConfig, frozenset[int]] | None] | None = None,
    ) -> None:
        """``claims``: a second connection to the state sidecar, the claim waiter's own; ``wake``:
        the loop's wake-up (the API watch's event), also set when the waiter claimed something;
        ``ahead``: with ``wake``, what the newest watch event assigns this pod ahead of the loop
        and the partitions of the config the loop runs (``claim_ahead`` of the io sidecar)."""
        self.main, self.pod, self.token = main, pod, token
        self.consumer, self.state, self.stateful = consumer, state, stateful
        self.tuning, self.pool = tuning, pool
        self.recovery = StateRecovery(main, pod, consumer, state, stateful)
        self.epoch = -1
        self.active: dict[int, Task] = {}
        self.pending: dict[int, Pending] = {}
        self.waiter = ClaimWaiter(main, pod, token, claims, wake)
        # The claim-ahead thread and the loop agree under this lock on which epoch the loop runs,
        # so the thread never hands the waiter a partition of an epoch the loop already claims.
        self._lock = threading.Lock()
        self._asked: dict[int, int] = {}  # partition -> epoch it was handed to the waiter ahead at
        self._early: list[Claimed] = []  # the waiter's results at an epoch newer than the loop runs
        self._stop_ahead = threading.Event()
        self._ahead_thread: threading.Thread | None = None
        if ahead is not None and wake is not None:
            self._ahead_thread = threading.Thread(
                target=self._claim_ahead, args=(ahead, wake), name="claim-ahead", daemon=True
            )
            self._ahead_thread.start()

    def fence(self) -> dict[str, object]:
        return {"epoch": self.epoch, "token": self.token}

    def apply(self, pod: PodConfig, changed_at: float | None) -> None:
        """Adopts a new assignment: release what was lost, re-claim what stays, queue what was gained."""
        wanted = set(pod.partitions)
        lost = [p for p in self.active if p not in wanted]
        self.release(lost)
        dropped = [p for p in self.pending if p not in wanted]
        self.waiter.cancel(dropped)
        for p in dropped:
            del self.pending[p]
            metrics.forget_partition(p)
        epoch_changed = pod.epoch != self.epoch
        with self._lock:
            if epoch_changed:  # waits at the old epoch end (what they claimed is given back), those
                # handed to the waiter ahead at this epoch go on: they are this config's claims
                ahead = {p for p, epoch in self._asked.items() if epoch == pod.epoch and p in wanted}
                self.waiter.cancel([p for p in self.waiter.waiting() if p not in ahead])
                self._asked = {p: e for p, e in self._asked.items() if e > pod.epoch}
            self.epoch = pod.epoch
        if epoch_changed:
            for p, pend in self.pending.items():
                pend.next_try = math.inf if self._held_by_waiter(p) else 0.0
        metrics.EPOCH.set(pod.epoch)
        if epoch_changed and self.active:
            self._reclaim(list(self.active))
        grace = time.monotonic() + self.tuning.handoff_grace_seconds
        for p in wanted - self.active.keys() - self.pending.keys():
            self.pending[p] = Pending(force_at=grace, gained_at=changed_at)
            if self._held_by_waiter(p):  # claimed ahead, or being: the loop takes the result
                self.pending[p].next_try = math.inf
            metrics.OWNED.labels(str(p)).set(0)
        log.info(
            "assignment epoch %d: consuming %s, acquiring %s, released %s",
            self.epoch,
            sorted(self.active),
            sorted(self.pending),
            sorted(lost),
        )

    def acquire_due(self) -> None:
        """Tries to acquire the pending partitions whose turn has come, and starts those the claim
        waiter claimed."""
        self._start_waited()
        now, waiting = time.monotonic(), self.waiter.waiting()
        due = [p for p, pend in self.pending.items() if pend.next_try <= now and p not in waiting]
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
            if outcome == "wait":  # the waiter claims it as soon as the previous owner releases it
                self.waiter.wait_for(p, self.epoch, self.pending[p].force_at)
                # Not due for the loop until the waiter's result says so (_start_waited): between
                # the waiter's claim and the loop taking it, the loop must not claim it again.
                self.pending[p].next_try = math.inf
            elif outcome == "stale":
                log.warning(
                    "partition %d belongs to a newer epoch than %d; waiting for my config", p, self.epoch
                )
                self.pending[p].next_try = now + 1.0
        self._start([p for p, outcome in claims.items() if outcome == "ok"])

    def next_due(self) -> float | None:
        """When (monotonic) the next pending partition is due for an attempt; None if none is
        pending. The loop waits for records no longer than that, so a forced claim is made on time;
        while the waiter waits, the loop looks for its result every WAITED_SLICE."""
        waiting = self.waiter.waiting()
        due = min((pend.next_try for p, pend in self.pending.items() if p not in waiting), default=None)
        if waiting or self.waiter.has_results():
            due = min(due or float("inf"), time.monotonic() + WAITED_SLICE)
        return due

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
        tasks = [self.active.pop(p) for p in partitions]
        self._assign()
        try:  # first: the next owner waits for this, not for the producers to close
            self.state.call("release", partitions=partitions, **self.fence())
        except RETRY_ERRORS as exc:  # the next owner then waits out the grace period
            log.warning("could not mark %s released: %s", partitions, exc)
        for task in tasks:  # nothing is open in them: the last batch committed
            task.close(abort=False)
            metrics.forget_partition(task.partition)

    def release_all(self) -> None:
        self._stop_ahead.set()
        if self._ahead_thread is not None:
            self._ahead_thread.join(timeout=5)
        self.release(list(self.active))
        self.pending.clear()
        early, self._early = self._early, []
        self._give_back([*early, *self.waiter.close()])

    def _claim_ahead(
        self, ahead: Callable[[], tuple[PodConfig, frozenset[int]] | None], changed: threading.Event
    ) -> None:
        """The claim-ahead thread: each watch event of a newer epoch hands the partitions it gains
        to the waiter at once, at that epoch (see the module's docstring)."""
        seen: PodConfig | None = None
        while not self._stop_ahead.is_set():
            changed.wait(AHEAD_IDLE_SECONDS)
            try:
                found = ahead()
            except Exception:  # never die: the loop claims everything itself anyway
                log.exception("claim ahead: could not read the newest config")
                found = None
            if found is None or found[0] == seen:
                self._stop_ahead.wait(AHEAD_SLICE_SECONDS)  # the loop has not polled it yet
                continue
            seen = found[0]
            self._ask_ahead(*found)

    def _ask_ahead(self, pod: PodConfig, running: frozenset[int]) -> None:
        gained = sorted(pod.partitions - running)
        with self._lock:
            if pod.epoch <= self.epoch:  # the loop runs it already, and claims itself
                return
            force_at = time.monotonic() + self.tuning.handoff_grace_seconds
            asked = [p for p in gained if self._asked.get(p) != pod.epoch]
            for p in asked:
                self._asked[p] = pod.epoch
                self.waiter.wait_for(p, pod.epoch, force_at)
        if asked:
            log.info("epoch %d seen ahead of the loop: claiming %s", pod.epoch, asked)

    def _held_by_waiter(self, partition: int) -> bool:
        """The waiter claims ``partition`` for the running epoch, or has: not the loop's to claim."""
        return partition in self.waiter.waiting() or any(
            c.partition == partition and c.epoch == self.epoch for c in self._early
        )

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

    def _start_waited(self) -> None:
        """Starts what the waiter claimed (and opened a producer for) at the running epoch."""
        now, ready = time.monotonic(), {}
        taken = self.waiter.take()
        # Claimed ahead of the loop: kept until the loop runs their epoch, then taken or given back.
        self._early += [c for c in taken if c.epoch > self.epoch]
        results = [c for c in taken if c.epoch <= self.epoch] + [
            c for c in self._early if c.epoch <= self.epoch
        ]
        self._early = [c for c in self._early if c.epoch > self.epoch]
        self._give_back([c for c in results if c.partition not in self.pending or c.epoch != self.epoch])
        for claimed in [c for c in results if c.partition in self.pending and c.epoch == self.epoch]:
            p, pend = claimed.partition, self.pending[claimed.partition]
            if claimed.outcome == "ok":
                metrics.HANDOFFS.labels("clean").inc()
                ready[p] = claimed.producer
            elif claimed.outcome == "stale":
                log.warning(
                    "partition %d belongs to a newer epoch than %d; waiting for my config", p, self.epoch
                )
                pend.next_try = now + 1.0
            elif claimed.outcome == "error":
                self._backoff([p], "claim", claimed.producer or RuntimeError("claim failed"))
            else:  # "due": the grace period is over, the loop forces the claim
                pend.next_try = now
        self._start(list(ready), ready)

    def _give_back(self, results: list[Claimed]) -> None:
        """Releases what the waiter claimed for a config that moved on meanwhile (at the epoch it
        claimed at: a newer claim of anyone fences this release, as it should)."""
        for claimed in [c for c in results if c.outcome == "ok"]:
            if isinstance(claimed.producer, BoundedProducer):
                claimed.producer.discard()
            if claimed.partition in self.active and claimed.epoch == self.epoch:
                continue  # this pod runs it at that epoch: releasing would hand it on while active
            try:
                self.state.call(
                    "release", partitions=[claimed.partition], epoch=claimed.epoch, token=self.token
                )
            except RETRY_ERRORS as exc:
                log.warning("could not give back partition %d: %s", claimed.partition, exc)
            if claimed.partition in self.pending and not self._held_by_waiter(claimed.partition):
                self.pending[claimed.partition].next_try = 0.0

    def _start(self, partitions: list[int], ready: dict[int, Any] | None = None) -> None:
        """Opens the partitions' producers (those not in ``ready`` already: a producer, or the
        error opening it gave) and makes the partitions active."""
        if not partitions:
            return
        began, ready = time.monotonic(), ready or {}
        opening = [p for p in partitions if p not in ready]
        opened_now = dict(
            zip(opening, self.pool.map(lambda p: open_producer(self.main, self.pod, p), opening), strict=True)
        )
        producers = [ready[p] if p in ready else opened_now[p] for p in partitions]
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
