"""The topics page's reads from the broker (issue 18 item 3): each topic a deployment uses, its
partitions against the spec, end offsets, the committed offsets of the entity's consumer group
and the lag per partition; and a bounded peek at a partition's last records.

Everything comes from the broker, never from the pods: the pods' ``invoker_consumer_lag`` gauge
counts from the fetch position, which runs ahead of processing (``orchestrator.reconciler.backlog``
says why), and a pod that is down reports nothing. End offsets are read ``read_committed`` (the
last stable offset): records of open or aborted transactions are not there to be processed yet.
A committed offset is the consumer group ``invoker.<deployment>.<entity>`` that the pods commit
in each batch's transaction; a partition nothing committed yet counts from its first offset.

Each read opens one admin client per broker with bounded timeouts and closes it: the page polls
every few seconds, and an outage then costs a read about :data:`BOOTSTRAP_TIMEOUT_MS`, reported
as :class:`BrokerUnavailableError` (the views answer 503 with its message, never 500).
Nothing here imports Django; it sits in ``jobs`` because the editor's layer may not use the
orchestrator's broker code.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from kafka import IsolationLevel, KafkaConsumer, OffsetSpec, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaConfigurationError, KafkaError

from orchestrator.reconciler.backlog import group_id
from orchestrator.reconciler.topics import describe, input_count, wanted_topics
from orchestrator.spec.model import DeploymentSpec

BOOTSTRAP_TIMEOUT_MS = 1500
REQUEST_TIMEOUT_MS = 3000
#: The peek's bounds: records per read, bytes of a key or value shown, bytes per read.
DEFAULT_PEEK_RECORDS = 20
MAX_PEEK_RECORDS = 100
MAX_FIELD_BYTES = 1024
MAX_PEEK_BYTES = 64 * 1024
#: How long a peek waits for the records it asked for.
PEEK_WAIT_SECONDS = 2.0
#: Topic names the executor derives (executor/changelog.py, executor/dead_letters.py; nothing
#: here may import the executor, so the names are written again, as jobs/cleanup.py does).
CHANGELOG_SUFFIX, DEAD_LETTER_SUFFIX, MAX_TOPIC = ".changelog", ".dead-letter", 249
INPUT, OUTPUT, CHANGELOG, DEAD_LETTER = "input", "output", "changelog", "dead-letter"


class TopicsViewError(Exception):
    """A read the page cannot answer; ``status`` is the HTTP status the views give it."""

    status = 400


class BrokerUnavailableError(TopicsViewError):
    status = 503


class PeekRequestError(TopicsViewError):
    status = 400


class TopicNotFoundError(TopicsViewError):
    status = 404


@dataclass(frozen=True)
class TopicUse:
    """One topic an entity uses: its role, where it lives, the count the spec wants of it
    (None: the pods create it with the input's count) and the group committing offsets on it."""

    entity: str
    role: str
    topic: str
    bootstrap: str
    declared: int | None
    group: str | None = None


@dataclass
class PartitionRow:
    partition: int
    start: int
    end: int
    committed: int | None = None
    lag: int | None = None


@dataclass
class TopicRow:
    entity: str
    role: str
    topic: str
    bootstrap: str
    declared: int | None
    group: str | None
    exists: bool = False
    partitions: int | None = None
    problem: str | None = None
    lag: int | None = None
    rows: list[PartitionRow] = field(default_factory=list)


def changelog_topic(deployment: str, entity: str, input_topic: str) -> str:
    """``<deployment>.<entity>.<input topic>.changelog`` (hashed past Kafka's name limit)."""
    name = f"{deployment}.{entity}.{input_topic}{CHANGELOG_SUFFIX}"
    if len(name) <= MAX_TOPIC:
        return name
    digest = hashlib.sha256(input_topic.encode()).hexdigest()[:16]
    return f"{deployment}.{entity}.{digest}{CHANGELOG_SUFFIX}"


def topic_uses(spec: DeploymentSpec) -> list[TopicUse]:
    """Every topic of ``spec``, per entity: input, output, changelog and dead-letter."""
    counts = {(want.bootstrap, want.topic): want.partitions for want in wanted_topics(spec)}
    uses = []
    for entity in spec.entities:
        name, address = entity.name, entity.io_address
        changelog = changelog_topic(spec.name, name, entity.input_topic)
        uses += [
            TopicUse(
                name, INPUT, entity.input_topic, address, input_count(entity)[0], group_id(spec.name, name)
            ),
            TopicUse(name, OUTPUT, entity.output_topic, address, counts[(address, entity.output_topic)]),
            TopicUse(name, CHANGELOG, changelog, address, None),
            TopicUse(name, DEAD_LETTER, f"{spec.name}.{name}{DEAD_LETTER_SUFFIX}", address, None),
        ]
    return uses


@contextmanager
def admin_client(bootstrap: str) -> Iterator[KafkaAdminClient]:
    """A short-lived admin client; a broker that does not answer is a BrokerUnavailableError."""
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="invoker-topics-page",
            request_timeout_ms=REQUEST_TIMEOUT_MS,
            bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
        )
    except KafkaConfigurationError:
        raise
    except KafkaError as exc:
        raise BrokerUnavailableError(f"Kafka at {bootstrap} is not reachable: {exc}") from exc
    try:
        yield admin
    except KafkaError as exc:
        raise BrokerUnavailableError(f"Kafka at {bootstrap} did not answer: {exc}") from exc
    finally:
        admin.close()


def read_topics(spec: DeploymentSpec) -> dict[str, Any]:
    """The page's table: every topic of ``spec`` with its partitions, offsets and lag.
    A broker that does not answer marks its topics and is named in ``brokerErrors``."""
    uses = topic_uses(spec)
    rows = [TopicRow(**asdict(use)) for use in uses]
    errors: dict[str, str] = {}
    for bootstrap in dict.fromkeys(row.bootstrap for row in rows):
        mine = [row for row in rows if row.bootstrap == bootstrap]
        try:
            with admin_client(bootstrap) as admin:
                _fill(admin, mine)
        except BrokerUnavailableError as exc:
            errors[bootstrap] = str(exc)
            for row in mine:
                row.problem = str(exc)
    return {
        "deployment": spec.name,
        "time": time.time(),
        "topics": [asdict(r) for r in rows],
        "brokerErrors": errors,
    }


def _fill(admin: KafkaAdminClient, rows: list[TopicRow]) -> None:
    counts = describe(admin, [row.topic for row in rows])
    present = {topic: count for topic, count in counts.items() if isinstance(count, int)}
    partitions = [TopicPartition(topic, p) for topic, count in present.items() for p in range(count)]
    starts = _offsets(admin, partitions, OffsetSpec.EARLIEST)
    ends = _offsets(admin, partitions, OffsetSpec.LATEST)
    groups = sorted({row.group for row in rows if row.group and row.topic in present})
    committed = admin.list_group_offsets(groups) if groups else {}
    for row in rows:
        count = counts.get(row.topic)
        row.exists, row.partitions = isinstance(count, int), count if isinstance(count, int) else None
        row.problem = _problem(row, count)
        if row.exists:
            row.rows = [
                _partition(row, p, starts, ends, committed.get(row.group or "", {})) for p in range(count)
            ]
            lags = [r.lag for r in row.rows if r.lag is not None]
            row.lag = sum(lags) if row.group else None


def _offsets(
    admin: KafkaAdminClient, partitions: list[TopicPartition], spec: OffsetSpec
) -> dict[TopicPartition, int]:
    if not partitions:
        return {}
    found = admin.list_partition_offsets(dict.fromkeys(partitions, spec), IsolationLevel.READ_COMMITTED)
    return {tp: found[tp].offset for tp in found}


def _partition(
    row: TopicRow,
    partition: int,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    done: dict,
) -> PartitionRow:
    tp = TopicPartition(row.topic, partition)
    result = PartitionRow(partition, starts.get(tp, 0), ends.get(tp, 0))
    if row.group:
        offset = done[tp].offset if tp in done and done[tp].offset >= 0 else None
        result.committed = offset
        result.lag = max(0, result.end - (offset if offset is not None else result.start))
    return result


def _problem(row: TopicRow, count: int | str | None) -> str | None:
    """What is wrong with a topic, as a sentence; None when nothing is."""
    if isinstance(count, str):
        return f"{row.role} topic {row.topic!r} cannot be read: {count}"
    if count is None:
        if row.role in (CHANGELOG, DEAD_LETTER):
            return None  # the pods create these when they first need them
        return f"{row.role} topic {row.topic!r} does not exist"
    if row.declared is not None and row.role == INPUT and count != row.declared:
        return f"{row.role} topic {row.topic!r} has {count} partitions, the spec wants {row.declared}"
    return None


@dataclass(frozen=True)
class PeekRequest:
    """A checked peek: a topic of the deployment, a partition of it, how many records, and
    where to go on from (a tail's next offset) or None for the last ``limit`` records."""

    bootstrap: str
    topic: str
    partition: int
    limit: int
    start: int | None = None


def check_peek(spec: DeploymentSpec, topic: str, partition: Any, limit: Any, start: Any) -> PeekRequest:
    """The request, or a PeekRequestError naming what is wrong with it."""
    use = next((u for u in topic_uses(spec) if u.topic == topic), None)
    if use is None:
        raise PeekRequestError(f"topic {topic!r} is not one of {spec.name}'s topics")
    number = _whole(partition, "partition", 0, None)
    count = _whole(limit if limit not in (None, "") else DEFAULT_PEEK_RECORDS, "limit", 1, MAX_PEEK_RECORDS)
    offset = None if start in (None, "") else _whole(start, "from", 0, None)
    return PeekRequest(use.bootstrap, topic, number, count, offset)


def _whole(raw: Any, name: str, low: int, high: int | None) -> int:
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise PeekRequestError(f"{name} must be a whole number {bounds}, not {raw!r}") from None
    if value < low or (high is not None and value > high):
        raise PeekRequestError(f"{name} must be a whole number {bounds}, not {value}")
    return value


def peek(request: PeekRequest) -> dict[str, Any]:
    """The records of one partition that transactions committed (``read_committed``): the last
    ``limit`` offsets' records, or from ``start`` on, at most ``limit`` records and
    :data:`MAX_PEEK_BYTES`. ``next`` is the offset a tail reads from next."""
    consumer = _consumer(request.bootstrap)
    try:
        return _read(consumer, request)
    except KafkaError as exc:
        raise BrokerUnavailableError(f"Kafka at {request.bootstrap} did not answer: {exc}") from exc
    finally:
        consumer.close()


def _consumer(bootstrap: str) -> KafkaConsumer:
    try:
        return KafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id="invoker-topics-peek",
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=REQUEST_TIMEOUT_MS,
            bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
            max_partition_fetch_bytes=MAX_PEEK_BYTES * 4,
        )
    except KafkaConfigurationError:
        raise
    except KafkaError as exc:
        raise BrokerUnavailableError(f"Kafka at {bootstrap} is not reachable: {exc}") from exc


def _read(consumer: KafkaConsumer, request: PeekRequest) -> dict[str, Any]:
    partitions = consumer.partitions_for_topic(request.topic)
    if not partitions:
        raise TopicNotFoundError(f"topic {request.topic!r} does not exist at {request.bootstrap}")
    if request.partition not in partitions:
        raise PeekRequestError(
            f"topic {request.topic!r} has no partition {request.partition} (it has {len(partitions)})"
        )
    tp = TopicPartition(request.topic, request.partition)
    consumer.assign([tp])
    first, end = consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]
    start, skipped = _window(first, end, request)
    consumer.seek(tp, start)
    records, size, truncated = _poll(consumer, tp, end, request.limit)
    return {
        "topic": request.topic, "partition": request.partition, "start": start, "end": end,
        "first": first, "next": consumer.position(tp), "skipped": skipped,
        "records": records, "bytes": size, "truncated": truncated,
        "limits": {"records": MAX_PEEK_RECORDS, "fieldBytes": MAX_FIELD_BYTES, "bytes": MAX_PEEK_BYTES},
    }  # fmt: skip


def _window(first: int, end: int, request: PeekRequest) -> tuple[int, int]:
    """Where the read starts, and how many offsets a tail that fell behind jumps over to stay
    within ``limit`` of the end (it says so rather than growing without bound)."""
    if request.start is None:
        return max(first, end - request.limit), 0
    start = max(first, min(request.start, end))
    skipped = max(0, end - request.limit - start)
    return start + skipped, skipped


def _poll(consumer: KafkaConsumer, tp: TopicPartition, end: int, limit: int) -> tuple[list[dict], int, bool]:
    """Polls until ``end`` (the last stable offset), ``limit`` records or the byte budget."""
    records: list[dict[str, Any]] = []
    size, deadline = 0, time.monotonic() + PEEK_WAIT_SECONDS
    while consumer.position(tp) < end and len(records) < limit and time.monotonic() < deadline:
        for record in consumer.poll(timeout_ms=200, max_records=limit - len(records)).get(tp, []):
            shown = _record(record)
            if size + shown["size"] > MAX_PEEK_BYTES:
                consumer.seek(tp, record.offset)  # the tail goes on from here
                return records, size, True
            records.append(shown)
            size += shown["size"]
    return records, size, False


def _record(record: Any) -> dict[str, Any]:
    key, value = decode(record.key), decode(record.value)
    return {
        "offset": record.offset,
        "timestamp": record.timestamp,
        "key": key,
        "value": value,
        "size": (key["bytes"] if key else 0) + (value["bytes"] if value else 0),
    }


def decode(raw: bytes | None) -> dict[str, Any] | None:
    """A key or value as the page shows it: printable UTF-8 text when it is, else base64, cut to
    :data:`MAX_FIELD_BYTES`; ``bytes`` is the whole size, ``truncated`` says it was cut. The page
    puts the text in the DOM as text, never as markup."""
    if raw is None:
        return None
    cut, truncated = raw[:MAX_FIELD_BYTES], len(raw) > MAX_FIELD_BYTES
    text = _utf8(cut, truncated)
    if text is not None and all(ch.isprintable() or ch in "\t\n\r" for ch in text):
        return {"text": text, "encoding": "utf-8", "bytes": len(raw), "truncated": truncated}
    encoded = base64.b64encode(cut).decode()
    return {"text": encoded, "encoding": "base64", "bytes": len(raw), "truncated": truncated}


def _utf8(cut: bytes, truncated: bool) -> str | None:
    """The text of ``cut``; a cut may split the last character (up to 3 bytes dropped)."""
    for trim in range(4 if truncated else 1):
        try:
            return cut[: len(cut) - trim].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None
