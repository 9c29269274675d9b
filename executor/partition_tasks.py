"""The per-partition pieces Ownership juggles: a consumed partition, a pending one, its producer.

A consumed partition (`Task`) owns one transactional producer; opening it fences the previous
holder of the partition's transactional id, closing it after a failure must never block, because
failures come in bursts exactly when the broker is away.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from executor.config import MainConfig
from executor.kafka_clients import BoundedProducer, make_producer

log = logging.getLogger(__name__)


@dataclass
class Task:
    """A partition being consumed: its transactional producer and committed position."""

    partition: int
    producer: BoundedProducer
    committed: int | None  # input offset after the last committed batch; None = from the start
    gained_at: float | None = None  # wall time of the config change, until the first record
    position: int | None = None  # next offset to consume (ahead of `committed` within a batch)

    def rewind(self, consumer: KafkaConsumer, topic: str) -> None:
        """Points the consumer back at the committed offset, dropping what was read since."""
        tp = TopicPartition(topic, self.partition)
        if self.committed is None:
            consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, self.committed)
        self.position = self.committed

    def close(self, abort: bool) -> None:
        """Closes the producer; after a failure at once, dropping whatever it still held.

        No abort_transaction: it can block for as long as the broker is away, and the next
        init_transactions for this transactional id aborts an open transaction anyway.
        """
        if not abort:
            try:
                self.producer.close(timeout=5)
                return
            except KafkaError as exc:
                log.warning("partition %d: producer did not close cleanly (%s)", self.partition, exc)
        self.producer.discard()


@dataclass
class Pending:
    """A partition assigned but not yet acquired."""

    force_at: float  # monotonic: stop waiting for the previous owner's release
    next_try: float = 0.0
    attempts: int = 0
    gained_at: float | None = None


def open_producer(main: MainConfig, pod: str, partition: int) -> BoundedProducer | Exception:
    """A producer that holds the partition's transactional id, or the error that prevented it.
    Any error, not only Kafka's: a caller opening several must never lose the ones it opened."""
    try:
        producer = make_producer(main, pod, partition)
    except Exception as exc:  # handed to the caller, which backs off and retries
        return exc
    try:
        producer.init_transactions()
    except Exception as exc:  # as above; the half-opened producer is closed first
        producer.discard()
        return exc
    return producer


#: How often a claim that found the previous owner still holding the partition is tried again.
#: The waiter does it off the batch loop, so this is the only wait between the release and the claim.
CLAIM_RETRY_SECONDS = 0.01


@dataclass
class Claimed:
    """What the waiter found for a partition it waited on, at the epoch it claimed at."""

    partition: int
    epoch: int
    outcome: str  # "ok" (claimed; `producer` is opened), "stale", "due" (force it now), "error"
    producer: BoundedProducer | BaseException | None = None


class ClaimWaiter:
    """Waits for a previous owner's release off the batch loop, and opens the producer at once.

    A gaining pod whose claim answered "wait" used to try again only between its batches, and
    only then open its producer: a batch of its other partitions (gather, UDF, two-phase commit)
    plus init_transactions after the release, hundreds of ms on a loaded node. This thread tries
    every CLAIM_RETRY_SECONDS on its own connection to the state sidecar (so the loop's requests
    never queue behind it) and, once claimed, runs init_transactions, which fences the previous
    owner exactly as the loop would: after the claim, never before. The loop takes the results
    (`take`) and does the rest (offsets, recovery, assignment); a result it no longer wants (the
    config moved on meanwhile) it gives back. Fencing is unchanged: the claim is the state
    store's own, at the epoch the loop asked for, and a newer epoch's claim still wins.
    """

    def __init__(
        self, main: MainConfig, pod: str, token: str, state: Any, wake: threading.Event | None = None
    ) -> None:
        """``wake``: set when a result is ready, so the loop stops waiting for records and takes it."""
        self.main, self.pod, self.token, self.state, self._wake = main, pod, token, state, wake
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[int, float]] = {}  # partition -> (epoch, monotonic force_at)
        self._since: dict[int, float] = {}  # partition -> when the wait began (for the log)
        self._done: list[Claimed] = []
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False  # close() took the last results: later ones are given back here

    def wait_for(self, partition: int, epoch: int, force_at: float) -> None:
        """Claims ``partition`` at ``epoch`` as soon as its previous owner releases it."""
        with self._lock:
            self._waiting[partition] = (epoch, force_at)
            self._since[partition] = time.monotonic()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="claim-waiter", daemon=True)
                self._thread.start()
        self._kick.set()

    def cancel(self, partitions: Iterable[int]) -> None:
        """Stops waiting (a result already found still comes out of `take`, to be given back)."""
        with self._lock:
            for p in partitions:
                self._waiting.pop(p, None)

    def waiting(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._waiting)

    def has_results(self) -> bool:
        with self._lock:
            return bool(self._done)

    def take(self) -> list[Claimed]:
        with self._lock:
            done, self._done = self._done, []
        return done

    def close(self) -> list[Claimed]:
        """Stops the thread; returns the results not taken (their claims are to be given back).
        An attempt still opening a producer when the join gives up finishes on its own and gives
        its claim back itself (`_finish` after `_stop`), so no claim outlives the pod unreleased."""
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.cancel(list(self.waiting()))
        with self._lock:
            self._closed = True
            done, self._done = self._done, []
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                waiting = dict(self._waiting)
            if not waiting:
                self._kick.wait(1.0)
                self._kick.clear()
                continue
            for epoch in sorted({e for e, _ in waiting.values()}):
                partitions = [p for p, (e, _) in waiting.items() if e == epoch]
                try:
                    self._attempt(epoch, partitions, waiting)
                except Exception as exc:  # never die: a partition left waiting would never be acquired
                    log.exception("claim waiter: attempt for %s failed", partitions)
                    self._finish(epoch, [Claimed(p, epoch, "error", exc) for p in partitions])
            self._stop.wait(CLAIM_RETRY_SECONDS)

    def _attempt(self, epoch: int, partitions: list[int], waiting: dict[int, tuple[int, float]]) -> None:
        now = time.monotonic()
        due = [p for p in partitions if now >= waiting[p][1]]
        found = [Claimed(p, epoch, "due") for p in due]
        ask = [p for p in partitions if p not in due]
        try:
            results = self._claim(epoch, ask)
        except Exception as exc:  # any error: handed to the loop, which backs off and retries
            results, found = {}, [*found, *(Claimed(p, epoch, "error", exc) for p in ask)]
        claimed = [p for p, outcome in results.items() if outcome == "ok"]
        found += [Claimed(p, epoch, "stale") for p, outcome in results.items() if outcome == "stale"]
        for p in claimed:  # fences the previous owner in Kafka: only now, after the claim
            found.append(Claimed(p, epoch, "ok", open_producer(self.main, self.pod, p)))
        if claimed:  # its steps' times: benchmarks/kube_move_latency.py reads them
            with self._lock:
                waited = max(now - self._since.get(p, now) for p in claimed)
            log.info(
                "claimed partitions %s at epoch %d once released (waited %.0f ms), producers in %.0f ms",
                claimed,
                epoch,
                waited * 1000,
                (time.monotonic() - now) * 1000,
            )
        if found:
            self._finish(epoch, found)

    def _give_back_late(self, found: list[Claimed]) -> None:
        """Claims that completed after close(): the loop is gone, so they are released here."""
        for claimed in [c for c in found if c.outcome == "ok"]:
            if isinstance(claimed.producer, BoundedProducer):
                claimed.producer.discard()
            try:
                self.state.call(
                    "release", partitions=[claimed.partition], epoch=claimed.epoch, token=self.token
                )
            except Exception as exc:  # the next owner then waits out the grace period
                log.warning("could not give back partition %d after close: %s", claimed.partition, exc)

    def _claim(self, epoch: int, partitions: list[int]) -> dict[int, str]:
        if not partitions:
            return {}
        response = self.state.call(
            "claim", partitions=partitions, owner=self.pod, force=False, epoch=epoch, token=self.token
        )
        return {int(p): outcome for p, outcome in response["results"].items()}

    def _finish(self, epoch: int, found: list[Claimed]) -> None:
        with self._lock:
            late = self._closed
            if not late:
                for claimed in found:
                    if self._waiting.get(claimed.partition, (None,))[0] == epoch:
                        del self._waiting[claimed.partition]
                self._done.extend(found)
        if late:
            self._give_back_late(found)
            return
        if self._wake is not None:
            self._wake.set()
