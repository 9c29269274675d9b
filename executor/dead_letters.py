"""Poison records: a record the UDF keeps raising on is retried a few times, then set aside.

A record whose `process` raises is tried again (its partition held back a little longer each
time: 0.4 s, 0.8 s, 1.6 s, ...) up to `INVOKER_UDF_RETRIES` times (default 3). If it still
raises, it goes to the entity's dead-letter topic `<deployment>.<entity>.dead-letter` (created
on first use, as many partitions as the input topic; the record keeps its input partition)
inside the partition's next transaction, whose committed offset moves past it, so processing
goes on and every other record stays exactly-once. The dead letter is the input record as it
was (key, value, headers) plus headers saying why and where from:

    invoker.error      the exception, e.g. "ValueError: invalid literal for int()"
    invoker.deployment, invoker.entity, invoker.topic, invoker.partition, invoker.offset,
    invoker.timestamp  (the input record's, in ms)

`invoker_dead_letters_total{partition}` counts them; `invoker_errors_total{kind="udf"}` counts
every failed attempt.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from kafka.admin import KafkaAdminClient
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, TopicAlreadyExistsError

from executor.config import MainConfig

log = logging.getLogger(__name__)
SUFFIX = ".dead-letter"


def topic_name(main: MainConfig) -> str:
    return f"{main.deployment}.{main.entity}{SUFFIX}"


def ensure_topic(main: MainConfig, admin_options: dict[str, Any]) -> int:
    """Creates the dead-letter topic with the input topic's partition count if it is missing;
    returns its partition count."""
    topic = topic_name(main)
    admin = KafkaAdminClient(
        bootstrap_servers=main.bootstrap_servers, client_id="invoker-io-admin", **admin_options
    )
    try:
        counts = {d["name"]: len(d["partitions"]) for d in admin.describe_topics([main.input_topic, topic])
                  if not d.get("error_code") and d.get("partitions")}  # fmt: skip
        if topic not in counts:
            try:
                admin.create_topics(
                    {topic: {"num_partitions": counts.get(main.input_topic, 1)}}, wait_for_metadata=True
                )
                log.info("created dead-letter topic %s", topic)
            except TopicAlreadyExistsError:
                pass
            counts = {
                d["name"]: len(d["partitions"]) for d in admin.describe_topics([topic]) if d.get("partitions")
            }
        if topic not in counts:
            raise KafkaError(f"dead-letter topic {topic!r} could not be created")
        return counts[topic]
    finally:
        admin.close()


def headers(main: MainConfig, record: ConsumerRecord, error: str) -> list[tuple[str, bytes]]:
    """The input record's own headers, then where it came from and why it is here."""
    where = {
        "invoker.error": error,
        "invoker.deployment": main.deployment,
        "invoker.entity": main.entity,
        "invoker.topic": record.topic,
        "invoker.partition": str(record.partition),
        "invoker.offset": str(record.offset),
        "invoker.timestamp": str(record.timestamp),
    }
    return [*(record.headers or []), *((k, v.encode()) for k, v in where.items())]


@dataclass
class _Failing:
    offset: int
    attempts: int = 0
    resume_at: float = 0.0


@dataclass
class PoisonTracker:
    """Counts the failed attempts of each partition's failing record and paces their retries.

    While a retry is not due the partition is *held*: its fetched records are dropped, and when
    the hold ends it is read again from its committed offset. (Pausing the partition in the
    consumer instead left kafka-python never fetching it again, now and then.)
    """

    retries: int
    _failing: dict[int, _Failing] = field(default_factory=dict)
    _held: set[int] = field(default_factory=set)

    def failed(self, partition: int, offset: int) -> bool:
        """Records one more failure of the record at `offset`; True when it is to be dead-lettered,
        else the partition is held until its retry is due."""
        current = self._failing.get(partition)
        if current is None or current.offset != offset:
            current = self._failing[partition] = _Failing(offset)
        current.attempts += 1
        if current.attempts > self.retries:
            self.forget(partition)
            return True
        current.resume_at = time.monotonic() + min(10.0, 0.2 * 2**current.attempts)
        self._held.add(partition)
        return False

    def holding(self, partition: int) -> bool:
        return partition in self._held

    def due(self) -> list[int]:
        """Partitions whose retry is due now: they are read again from their committed offset."""
        now = time.monotonic()
        ready = [p for p in self._held if self._failing[p].resume_at <= now]
        self._held.difference_update(ready)
        return ready

    def forget(self, partition: int) -> None:
        self._failing.pop(partition, None)
        self._held.discard(partition)
