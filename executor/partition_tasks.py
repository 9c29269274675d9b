"""The per-partition pieces Ownership juggles: a consumed partition, a pending one, its producer.

A consumed partition (`Task`) owns one transactional producer; opening it fences the previous
holder of the partition's transactional id, closing it after a failure must never block, because
failures come in bursts exactly when the broker is away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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


def open_producer(main: MainConfig, pod: str, partition: int) -> BoundedProducer | KafkaError:
    """A producer that holds the partition's transactional id, or the error that prevented it."""
    try:
        producer = make_producer(main, pod, partition)
    except KafkaError as exc:
        return exc
    try:
        producer.init_transactions()
    except KafkaError as exc:
        producer.discard()
        return exc
    return producer
