"""The changelog: Kafka's copy of a stateful entity's state, the copy that survives losing Redis.

One compacted topic per stateful entity and input topic, `<deployment>.<entity>.<input topic>.changelog`,
with as many partitions as the input topic: changelog partition p holds input partition p's keys,
so a partition's state moves with the partition and is restored by reading one partition.

Every batch of input partition p writes, inside the batch's own transaction (the one that also
carries its outputs and its input offset):

    key b"k" + state key   value: the new value, or None (a tombstone: the key was deleted)
    key b"o"               value: the input offset after the batch (decimal ASCII)

The one-byte prefixes keep the offset marker apart from any user key, whatever its bytes. As the
marker commits with the input offset, a changelog read with `read_committed` always ends with the
marker of the offset Kafka committed, so it names exactly the input position its state reflects,
even after the group's committed offsets expired. Compaction keeps one record per key (and one
marker), so a restore reads at most the live keys plus the not yet compacted tail.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError

from executor.config import MainConfig

log = logging.getLogger(__name__)
KEY, MARKER = b"k", b"o"
SUFFIX = ".changelog"
MAX_TOPIC = 249  # Kafka's limit on topic names
CHUNK = 20000  # keys per restore request to the state sidecar
#: Compaction works on closed segments only: small segments bound what a restore reads beyond
#: the live keys. Tombstones stay a day, so a reader that is behind still sees deletions.
TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "segment.bytes": str(64 * 1024 * 1024),
    "segment.ms": str(3600 * 1000),
    "min.cleanable.dirty.ratio": "0.5",
    "delete.retention.ms": str(24 * 3600 * 1000),
}


def topic_name(main: MainConfig) -> str:
    """`<deployment>.<entity>.<input topic>.changelog`; the input topic is part of it because the
    state is (offsets are per topic). A name beyond Kafka's limit hashes the input topic."""
    name = f"{main.deployment}.{main.entity}.{main.input_topic}{SUFFIX}"
    if len(name) <= MAX_TOPIC:
        return name
    digest = hashlib.sha256(main.input_topic.encode()).hexdigest()[:16]
    return f"{main.deployment}.{main.entity}.{digest}{SUFFIX}"


def deployment_prefix(deployment: str) -> str:
    """Every changelog topic of a deployment starts with this (names are DNS labels: no dots)."""
    return f"{deployment}."


def _partition_counts(admin: KafkaAdminClient, topics: list[str]) -> dict[str, int]:
    counts = {}
    for described in admin.describe_topics(topics):
        if not described.get("error_code") and described.get("partitions"):
            counts[described["name"]] = len(described["partitions"])
    return counts


def ensure_topic(main: MainConfig, admin_options: Mapping[str, object]) -> int:
    """Creates the changelog (compacted, one partition per input partition) or grows it to match
    the input topic; returns its partition count. Never shrinks it."""
    topic = topic_name(main)
    admin = KafkaAdminClient(
        bootstrap_servers=main.bootstrap_servers, client_id="invoker-io-admin", **admin_options
    )
    try:
        counts = _partition_counts(admin, [main.input_topic, topic])
        wanted = counts.get(main.input_topic)
        if wanted is None:
            raise KafkaError(f"input topic {main.input_topic!r} does not exist")
        have = counts.get(topic)
        if have is None:
            try:
                admin.create_topics(
                    {topic: {"num_partitions": wanted, "configs": TOPIC_CONFIG}}, wait_for_metadata=True
                )
                log.info("created changelog topic %s with %d partitions", topic, wanted)
            except TopicAlreadyExistsError:
                pass
            have = _partition_counts(admin, [topic]).get(topic, wanted)
        if have < wanted:
            admin.create_partitions({topic: wanted})
            log.info("grew changelog topic %s from %d to %d partitions", topic, have, wanted)
            have = wanted
        return have
    finally:
        admin.close()


def send(
    producer: KafkaProducer,
    topic: str,
    partition: int,
    writes: Mapping[bytes, bytes | None],
    next_offset: int,
) -> None:
    """Adds one batch's state changes and its offset marker to the open transaction."""
    send_writes(producer, topic, partition, writes)
    send_marker(producer, topic, partition, next_offset)


def send_writes(
    producer: KafkaProducer, topic: str, partition: int, writes: Mapping[bytes, bytes | None]
) -> None:
    for key, value in writes.items():
        producer.send(topic, key=KEY + key, value=value, partition=partition)


def send_marker(producer: KafkaProducer, topic: str, partition: int, next_offset: int) -> None:
    producer.send(topic, key=MARKER, value=str(next_offset).encode(), partition=partition)


def empty_partitions(consumer: KafkaConsumer, topic: str, partitions: list[int]) -> set[int]:
    """The changelog partitions that hold nothing (never written, or the topic was recreated)."""
    tps = [TopicPartition(topic, p) for p in partitions]
    starts = consumer.beginning_offsets(tps, timeout_ms=15000)
    ends = consumer.end_offsets(tps, timeout_ms=15000)
    return {tp.partition for tp in tps if starts[tp] >= ends[tp]}


@dataclass
class Reading:
    """What a read of one changelog partition found; filled while its chunks are consumed."""

    marker: int | None = None  # the input offset the state reflects; None: no batch committed yet
    records: int = 0
    keys: int = 0
    seconds: float = 0.0
    _started: float = field(default_factory=time.monotonic)


def read(
    main: MainConfig, pod: str, partition: int, reading: Reading, patience: float = 30.0
) -> Iterator[dict[bytes, bytes | None]]:
    """Yields the committed content of one changelog partition in chunks of up to CHUNK keys
    (a later value of a key replaces an earlier one; None is a deletion). Fills `reading`."""
    tp = TopicPartition(topic_name(main), partition)
    consumer = KafkaConsumer(
        bootstrap_servers=main.bootstrap_servers,
        client_id=f"{pod}-restore-{partition}",
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        max_poll_records=CHUNK,
        allow_auto_create_topics=False,
        reconnect_backoff_ms=50,
        reconnect_backoff_max_ms=1000,
    )
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp], timeout_ms=int(patience * 1000))[tp]
        yield from _chunks(consumer, tp, end, reading, patience)
    finally:
        consumer.close(autocommit=False)
        reading.seconds = time.monotonic() - reading._started


def _chunks(
    consumer: KafkaConsumer, tp: TopicPartition, end: int, reading: Reading, patience: float
) -> Iterator[dict[bytes, bytes | None]]:
    chunk: dict[bytes, bytes | None] = {}
    stalled_since = time.monotonic()
    while consumer.position(tp, timeout_ms=int(patience * 1000)) < end:
        records = consumer.poll(timeout_ms=500, max_records=CHUNK).get(tp, [])
        if not records:
            if time.monotonic() - stalled_since > patience:
                raise KafkaTimeoutError(
                    f"changelog {tp.topic}[{tp.partition}]: no progress in {patience:.0f}s"
                )
            continue
        stalled_since = time.monotonic()
        reading.records += len(records)
        for record in records:
            key = record.key or b""
            if key[:1] == KEY:
                chunk[key[1:]] = record.value
            elif key == MARKER:
                reading.marker = int(record.value)
        if len(chunk) >= CHUNK:
            reading.keys += len(chunk)
            yield chunk
            chunk = {}
    if chunk:
        reading.keys += len(chunk)
        yield chunk


_END = object()


def read_ahead(
    main: MainConfig, pod: str, partition: int, reading: Reading, depth: int = 2
) -> Iterator[dict[bytes, bytes | None]]:
    """`read`, with the Kafka side running up to `depth` chunks ahead in a thread: decoding the
    changelog (the io sidecar's CPU) then overlaps loading the chunks before it (the state
    sidecar's and Redis' CPU), which on two cores is a third of a restore's time."""
    chunks: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        source = read(main, pod, partition, reading)
        try:
            for chunk in source:
                if not put(chunk):
                    return
            put(_END)
        except BaseException as exc:  # handed to the reader of the chunks
            put(exc)
        finally:
            source.close()

    thread = threading.Thread(target=run, name=f"restore-{partition}", daemon=True)
    thread.start()
    try:
        while (item := chunks.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=30)
