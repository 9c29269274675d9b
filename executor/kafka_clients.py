"""Every kafka-python client the io sidecar builds, configured in one place.

- The consumer is *assigned* partitions (never subscribes, so there is no group rebalancing)
  and reads `read_committed`: it never sees records of aborted or open transactions. Its group
  id is used only to store and fetch committed offsets.
- There is one transactional producer per input partition, with a transactional id derived
  from the partition. Whoever calls `init_transactions` for it last fences every earlier
  holder and completes or aborts their open transaction: the partition's new owner, or the
  same pod after a crash. (A producer per pod could not be fenced per partition without
  consumer-group generations, which manual assignment does not have.)
- Output records are routed by murmur2 of the key, like Kafka's own default partitioner, so
  every key always lands in the same downstream partition and that partition's owner holds
  all state of that key.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import tenacity
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import (
    IllegalStateError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    TopicAlreadyExistsError,
)
from kafka.partitioner.default import murmur2

from executor.config import MainConfig

log = logging.getLogger(__name__)
RECONNECT = {"reconnect_backoff_ms": 50, "reconnect_backoff_max_ms": 1000, "retry_backoff_ms": 100}
#: How soon the data path's clients try a refused connection again, at most: a client whose back-off
#: had grown to 1 s reconnected up to 1 s after the broker returned. A refused connection to a
#: stopped broker costs it next to nothing, four times a second per client.
RECONNECT_MAX_MS = 250
#: The data path's clients wait ``retry_backoff_ms`` at steps that are not errors at all:
#: kafka-python's sender sleeps it before the InitProducerId that follows FindCoordinator and
#: between polls while a transactional request is in flight. At the default 100 ms that made
#: ``init_transactions`` (the new owner's takeover of a moved partition) take ~210 ms on a local
#: broker, ~40 ms at 10 ms; commits' AddOffsets/TxnOffsetCommit steps shrink the same way.
#: Connection attempts keep their own back-off (reconnect_backoff_ms), so an outage is not hammered.
DATA_PATH = {**RECONNECT, "retry_backoff_ms": 10, "reconnect_backoff_max_ms": RECONNECT_MAX_MS}
#: How long the broker holds a fetch that found nothing. A partition gained while a fetch to its
#: broker is in flight is first fetched when that one returns, so this bounds that wait too.
FETCH_MAX_WAIT_MS = 100
#: A transaction step is waited for in slices, the first this long, each twice the last (up to
#: STEP_SLICE_MAX_S); after each slice the broker is probed, and a step whose broker is gone is
#: abandoned then instead of at its bound. A step the broker answers finishes within the first
#: slice and costs no probe.
STEP_FIRST_SLICE_S = 0.25
STEP_SLICE_MAX_S = 2.0
#: How long a probe waits for a TCP connection to a bootstrap server.
PROBE_TIMEOUT_S = 1.0


def broker_listening(bootstrap_servers: str | list[str], timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when a TCP connection to any bootstrap server opens.

    Cheap enough to ask often: a stopped broker refuses at once. It tells "the broker is gone"
    (refused: give up the step now, try again soon) from "the broker is slow" (it listens: keep
    waiting); it does not say the broker can serve transactions yet, which only trying says.
    """
    servers = bootstrap_servers.split(",") if isinstance(bootstrap_servers, str) else bootstrap_servers
    for server in servers:
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port or 9092)), timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


class _StepPendingError(Exception):
    """A slice of a transaction step's wait ended with the broker still listening."""


def make_consumer(main: MainConfig, pod: str, max_records: int) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=main.bootstrap_servers,
        client_id=f"{pod}-in",
        group_id=main.group_id,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_poll_records=max_records,
        request_timeout_ms=4000,  # a fetch stuck in a restarting broker is retried soon (default 30 s)
        allow_auto_create_topics=False,  # a deleted topic must stay deleted
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        **DATA_PATH,
    )


def committed_offsets(
    consumer: KafkaConsumer, tps: list[TopicPartition], timeout_ms: int
) -> dict[int, int | None]:
    """The group's committed offsets of many partitions in one OffsetFetch (None: none committed).

    `KafkaConsumer.committed` asks one partition per request; its coordinator asks for many, and
    waits for pending transactional offset commits the same way (require_stable).
    """
    if not tps:
        return {}
    found = consumer._coordinator.fetch_committed_offsets(tps, timeout_ms=timeout_ms)
    return {tp.partition: (found[tp].offset if tp in found else None) for tp in tps}


class _ReadyOrNot:
    """The sender's view of the network client, with `await_ready` answering False instead of raising.

    kafka-python 3.0.12's Sender drops a transactional request (AddPartitionsToTxn, AddOffsetsToTxn,
    EndTxn...) when its coordinator is unreachable at the moment it is due: `await_ready` raises,
    and the except branch neither re-enqueues the request nor clears the node it picked. After a
    broker restart the transaction then waits forever for a request that was never sent (records
    produced during the outage are never drained, so EndTxn is never sent either). The Sender's
    own `not await_ready(...)` branch re-enqueues the request and looks the coordinator up again,
    so answering False makes it take that path.
    """

    def __init__(self, client: Any, pause_seconds: float) -> None:
        self._client = client
        self._pause = pause_seconds

    def await_ready(self, node_id: Any, timeout_ms: int = 30000) -> bool:
        try:
            return bool(self._client.await_ready(node_id, timeout_ms=timeout_ms))
        except KafkaConnectionError:
            time.sleep(self._pause)  # the node refused: do not spin while it is away
            return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class BoundedProducer(KafkaProducer):
    """A KafkaProducer whose transaction steps give up after `step_timeout_ms` (kafka-python waits
    without a deadline), and whose transactional requests survive a broker restart (_ReadyOrNot).

    After a timeout this producer is unusable: the caller closes it and the next
    `init_transactions` for its id completes or aborts whatever was left open.
    """

    def __init__(self, step_timeout_ms: int = 60000, **configs: Any) -> None:
        self.step_timeout_ms = step_timeout_ms
        super().__init__(**configs)
        self._sender._client = _ReadyOrNot(self._sender._client, self.config["retry_backoff_ms"] / 1000)

    def init_transactions(self) -> None:
        """kafka-python's init_transactions, waited for like the other steps (see _bounded) up to
        `max_block_ms`: a producer whose broker went away gives up within a slice.

        Fencing is the broker's: it bumps the epoch of the transactional id when the request
        completes, whoever waits for it; a producer that gave up is discarded.
        """
        if self._transaction_manager is None:
            raise IllegalStateError("init_transactions needs a transactional_id")
        if self._init_transactions_result is None:
            self._init_transactions_result = self._transaction_manager.initialize_transactions()
        try:
            self._bounded("init_transactions", self._init_transactions_result, self.config["max_block_ms"])
        finally:
            if self._init_transactions_result.failed:
                self._init_transactions_result = None

    def send_offsets_to_transaction(self, offsets: Any, group_metadata: Any) -> None:
        self._bounded(
            "send_offsets_to_transaction",
            self._transaction_manager.send_offsets_to_transaction(offsets, group_metadata),
        )

    def commit_transaction(self) -> None:
        self._bounded("commit_transaction", self._transaction_manager.begin_commit())

    def discard(self) -> None:
        """Closes at once, dropping unsent records: for a producer whose transaction is abandoned.

        `close(timeout=0)` raises from its flush when records are still queued and then never
        stops the sender thread; this skips the flush instead.
        """
        self._discarding = True
        self.close(timeout=0)

    def flush(self, timeout: float | None = None) -> None:
        try:
            super().flush(timeout)
        except KafkaTimeoutError:
            if not getattr(self, "_discarding", False):
                raise

    def _bounded(self, step: str, result: Any, timeout_ms: int | None = None) -> None:
        """Waits for a transaction step: slices growing from STEP_FIRST_SLICE_S, a probe of the
        broker after each, and the step's bound (`step_timeout_ms` unless given) over all.

        Raises KafkaConnectionError as soon as no broker listens (a restart: a commit in flight
        no longer waits out its bound, its partition is acquired again with a new producer once
        the broker is back), KafkaTimeoutError at the bound, or the step's own error.
        """
        self._sender.wakeup()
        bound_ms = self.step_timeout_ms if timeout_ms is None else timeout_ms
        deadline = time.monotonic() + bound_ms / 1000
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_StepPendingError),
            stop=tenacity.stop_after_delay(bound_ms / 1000),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    remaining = max(0.0, deadline - time.monotonic())
                    slice_s = min(STEP_SLICE_MAX_S, STEP_FIRST_SLICE_S * 2 ** (number - 1), remaining)
                    if result.wait(timeout_ms=slice_s * 1000):
                        return
                    if not broker_listening(self.config["bootstrap_servers"]):
                        raise KafkaConnectionError(
                            f"{step}: no broker listening on {self.config['bootstrap_servers']}"
                        )
                    raise _StepPendingError
        except _StepPendingError:
            raise KafkaTimeoutError(f"{step} did not complete in {bound_ms} ms") from None


def make_producer(main: MainConfig, pod: str, partition: int) -> BoundedProducer:
    """The partition's transactional producer; raises KafkaConnectionError at once when no broker
    listens, instead of spending `bootstrap_timeout_ms` on each attempt while it is away."""
    if not broker_listening(main.bootstrap_servers):
        raise KafkaConnectionError(f"no broker listening on {main.bootstrap_servers}")
    return BoundedProducer(
        bootstrap_servers=main.bootstrap_servers,
        client_id=f"{pod}-out-{partition}",
        transactional_id=main.transactional_id(partition),
        # A transaction step is abandoned when the broker stops listening (see _bounded), or after
        # 10 s, and the partition re-acquired with a new producer (always safe: Kafka's committed
        # offset decides). Measured against a broker restart, that comes back sooner than waiting
        # for the step to complete: a transaction that lived through the outage completes tens
        # of seconds after the broker is back.
        transaction_timeout_ms=30000,  # an orphaned transaction blocks downstream readers this long at most
        step_timeout_ms=10000,
        linger_ms=5,
        batch_size=256 * 1024,
        max_block_ms=10000,  # init_transactions and a send waiting for metadata
        # Also the produce requests' own deadline, which a restarting broker spends verifying that the
        # partition is in the transaction (KIP-890); short, so a verification that failed is retried soon.
        request_timeout_ms=3000,
        bootstrap_timeout_ms=5000,  # an attempt made during an outage fails soon and is retried
        delivery_timeout_ms=60000,
        allow_auto_create_topics=False,  # a pod still stopping must not recreate a deleted changelog
        **DATA_PATH,
    )


def admin_options() -> dict[str, Any]:
    """Options of every admin client the io sidecar makes: short requests, quick reconnects."""
    return {"request_timeout_ms": 10000, **RECONNECT}


def ensure_output_topic(main: MainConfig) -> int:
    """Returns the output topic's partition count, creating the topic when `outputPartitions` says how."""
    admin = KafkaAdminClient(
        bootstrap_servers=main.bootstrap_servers, client_id="invoker-io-admin", **admin_options()
    )
    try:
        if main.output_partitions is not None:
            try:
                admin.create_topics([NewTopic(main.output_topic, main.output_partitions, 1)])
                log.info(
                    "created output topic %s with %d partitions", main.output_topic, main.output_partitions
                )
            except TopicAlreadyExistsError:
                pass
        described = admin.describe_topics([main.output_topic])
    finally:
        admin.close()
    partitions = described[0].get("partitions") if described else None
    if not partitions or described[0].get("error_code"):
        raise KafkaError(
            f"output topic {main.output_topic!r} does not exist (set outputPartitions to create it)"
        )
    actual = len(partitions)
    if main.output_partitions is not None and actual != main.output_partitions:
        log.warning(
            "output topic %s has %d partitions, outputPartitions says %d; routing over %d",
            main.output_topic,
            actual,
            main.output_partitions,
            min(actual, main.output_partitions),
        )
        return min(actual, main.output_partitions)
    return actual


class OutputRouter:
    """Chooses the output partition of a record: a function of its key alone."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions

    def __call__(self, key: bytes | None, input_partition: int) -> int:
        if key is None:  # no key, no state downstream: keep the input's partitioning instead
            return input_partition % self.partitions
        return (murmur2(key) & 0x7FFFFFFF) % self.partitions
