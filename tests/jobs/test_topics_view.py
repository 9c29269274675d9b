"""The topics page's reads (jobs/topics_view.py) on the real broker: partitions, end offsets
(read_committed), the entity group's committed offsets and lag, a bounded peek, bad requests
and an unreachable broker."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.structs import OffsetAndMetadata

from jobs import topics_view
from jobs.topics_view import (
    BrokerUnavailableError,
    PeekRequest,
    PeekRequestError,
    TopicNotFoundError,
    check_peek,
    peek,
    read_topics,
    topic_uses,
)
from orchestrator import DeploymentSpec, parse_deployment
from tests.kafka_topics import settles_to


def spec_of(name: str, bootstrap: str, suffix: str, input_partitions: int = 2) -> DeploymentSpec:
    """Two entities: ``split`` reads ``in-<suffix>`` and writes ``mid-<suffix>``, which ``sum`` reads."""

    def entity(entity: str, source: str, sink: str, partitions: list[int]) -> dict:
        pods = [{"name": f"{entity}-0", "partitions": partitions}]
        return {"name": entity, "executorImage": "invoker/executor:0.1", "ioAddress": bootstrap,
                "inputTopic": source, "outputTopic": sink, "pods": pods}  # fmt: skip

    return parse_deployment(
        {
            "apiVersion": "invokeroperator.invoker.io/v1alpha1",
            "kind": "InvokerDeployment",
            "metadata": {"name": name},
            "spec": {
                "statefulEntities": [
                    entity("split", f"in-{suffix}", f"mid-{suffix}", list(range(input_partitions))),
                    entity("sum", f"mid-{suffix}", f"out-{suffix}", [0]),
                ]
            },
        }
    )


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    client = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    yield client
    client.close()


def create(admin: KafkaAdminClient, counts: dict[str, int]) -> None:
    admin.create_topics([NewTopic(topic, count, 1) for topic, count in counts.items()])
    settles_to(admin, counts)


def commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commits offsets for ``group`` as the pods do (never joining it)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
    finally:
        consumer.close()


def unused_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def row(table: dict, entity: str, role: str) -> dict:
    return next(t for t in table["topics"] if t["entity"] == entity and t["role"] == role)


def test_each_entity_has_its_input_output_changelog_and_dead_letter_topic() -> None:
    uses = topic_uses(spec_of("tv", "127.0.0.1:9092", "x", input_partitions=3))
    assert [(u.entity, u.role, u.topic, u.declared, u.group) for u in uses] == [
        ("split", "input", "in-x", 3, "invoker.tv.split"),
        ("split", "output", "mid-x", 1, None),  # sum reads it, with the one partition it owns
        ("split", "changelog", "tv.split.in-x.changelog", None, None),
        ("split", "dead-letter", "tv.split.dead-letter", None, None),
        ("sum", "input", "mid-x", 1, "invoker.tv.sum"),
        ("sum", "output", "out-x", 1, None),
        ("sum", "changelog", "tv.sum.mid-x.changelog", None, None),
        ("sum", "dead-letter", "tv.sum.dead-letter", None, None),
    ]


def test_it_reads_end_offsets_the_groups_committed_offsets_and_the_lag_per_partition(
    kafka_bootstrap: str, admin: KafkaAdminClient, producer: KafkaProducer, suffix: str
) -> None:
    name = f"tv-{suffix}"
    create(admin, {f"in-{suffix}": 2, f"mid-{suffix}": 1})
    for _ in range(5):
        producer.send(f"in-{suffix}", b"a", partition=0)
    for _ in range(3):
        producer.send(f"in-{suffix}", b"b", partition=1)
    producer.flush()
    commit(kafka_bootstrap, f"invoker.{name}.split", {TopicPartition(f"in-{suffix}", 0): 2})

    table = read_topics(spec_of(name, kafka_bootstrap, suffix))

    assert table["brokerErrors"] == {}
    split_in = row(table, "split", "input")
    assert (split_in["exists"], split_in["partitions"], split_in["problem"]) == (True, 2, None)
    assert [(p["partition"], p["end"], p["committed"], p["lag"]) for p in split_in["rows"]] == [
        (0, 5, 2, 3),
        (1, 3, None, 3),  # nothing committed yet: counts from the first offset
    ]
    assert split_in["lag"] == 6
    mid = row(table, "split", "output")
    assert (mid["exists"], mid["lag"], [p["end"] for p in mid["rows"]]) == (True, None, [0])
    changelog = row(table, "split", "changelog")
    assert (changelog["exists"], changelog["problem"]) == (False, None)  # the pods create it


def test_a_missing_topic_and_a_wrong_partition_count_are_named(
    kafka_bootstrap: str, admin: KafkaAdminClient, suffix: str
) -> None:
    create(admin, {f"in-{suffix}": 1, f"mid-{suffix}": 1})
    table = read_topics(spec_of(f"tv-{suffix}", kafka_bootstrap, suffix, input_partitions=2))
    assert row(table, "split", "input")["problem"] == (
        f"input topic 'in-{suffix}' has 1 partitions, the spec wants 2"
    )
    out = row(table, "sum", "output")
    assert (out["exists"], out["problem"]) == (False, f"output topic 'out-{suffix}' does not exist")


def test_an_open_transaction_is_neither_counted_nor_peeked_until_it_commits(
    kafka_bootstrap: str, admin: KafkaAdminClient, suffix: str
) -> None:
    topic = f"in-{suffix}"
    create(admin, {topic: 2, f"mid-{suffix}": 1})
    spec = spec_of(f"tv-{suffix}", kafka_bootstrap, suffix)
    writer = KafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=f"tv-{suffix}")
    try:
        writer.init_transactions()
        writer.begin_transaction()
        for i in range(3):
            writer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=0)
        writer.flush()
        assert row(read_topics(spec), "split", "input")["rows"][0]["end"] == 0
        assert peek(check_peek(spec, topic, 0, 10, None))["records"] == []
        writer.commit_transaction()
    finally:
        writer.close()
    assert row(read_topics(spec), "split", "input")["rows"][0]["end"] == 4  # 3 records and the marker
    shown = peek(check_peek(spec, topic, "0", "10", None))
    assert [(r["offset"], r["key"]["text"], r["value"]["text"]) for r in shown["records"]] == [
        (0, "k0", "v0"),
        (1, "k1", "v1"),
        (2, "k2", "v2"),
    ]


def test_a_peek_shows_the_last_records_decoded_safely_and_bounded(
    kafka_bootstrap: str, admin: KafkaAdminClient, producer: KafkaProducer, suffix: str
) -> None:
    topic = f"in-{suffix}"
    create(admin, {topic: 2, f"mid-{suffix}": 1})
    spec = spec_of(f"tv-{suffix}", kafka_bootstrap, suffix)
    for i in range(30):
        producer.send(topic, key=str(i).encode(), value=f"line {i}".encode(), partition=1)
    producer.send(topic, key=None, value=b"\xff\x00\x01", partition=1)  # not text: base64
    producer.send(topic, key=b"big", value="é".encode() * 2000, partition=1)  # 4000 bytes, cut
    producer.flush()

    last = peek(check_peek(spec, topic, 1, 3, None))
    assert [r["offset"] for r in last["records"]] == [29, 30, 31]
    assert (last["start"], last["end"], last["next"]) == (29, 32, 32)
    binary, big = last["records"][1], last["records"][2]
    assert binary["key"] is None
    assert binary["value"] == {"text": "/wAB", "encoding": "base64", "bytes": 3, "truncated": False}
    assert big["value"]["encoding"] == "utf-8"
    assert (big["value"]["bytes"], big["value"]["truncated"]) == (4000, True)
    assert big["value"]["text"] == "é" * 512  # 1024 bytes: no character split

    tail = peek(check_peek(spec, topic, 1, 5, 10))  # a tail from offset 10, more than 5 behind
    assert (tail["skipped"], [r["offset"] for r in tail["records"]]) == (17, [27, 28, 29, 30, 31])
    caught_up = peek(check_peek(spec, topic, 1, 5, tail["next"]))
    assert (caught_up["records"], caught_up["next"]) == ([], 32)


def test_a_peek_stops_at_its_byte_budget(
    kafka_bootstrap: str, admin: KafkaAdminClient, producer: KafkaProducer, suffix: str, monkeypatch
) -> None:
    monkeypatch.setattr(topics_view, "MAX_PEEK_BYTES", 2500)
    topic = f"in-{suffix}"
    create(admin, {topic: 1, f"mid-{suffix}": 1})
    for _ in range(5):
        producer.send(topic, value=b"x" * 1000, partition=0)
    producer.flush()
    shown = peek(check_peek(spec_of(f"tv-{suffix}", kafka_bootstrap, suffix, 1), topic, 0, 5, None))
    assert ([r["offset"] for r in shown["records"]], shown["truncated"], shown["next"]) == ([0, 1], True, 2)


@pytest.mark.parametrize(
    ("topic", "partition", "limit", "start", "message"),
    [
        ("elsewhere", 0, 5, None, "topic 'elsewhere' is not one of tv's topics"),
        ("in-x", "one", 5, None, "partition must be a whole number of at least 0, not 'one'"),
        ("in-x", -1, 5, None, "partition must be a whole number of at least 0, not -1"),
        ("in-x", 0, 101, None, "limit must be a whole number from 1 to 100, not 101"),
        ("in-x", 0, 5, "x", "from must be a whole number of at least 0, not 'x'"),
    ],
)
def test_a_bad_peek_request_names_what_is_wrong(topic, partition, limit, start, message) -> None:
    with pytest.raises(PeekRequestError) as refused:
        check_peek(spec_of("tv", "127.0.0.1:9092", "x"), topic, partition, limit, start)
    assert str(refused.value) == message


def test_a_peek_at_a_partition_or_topic_that_is_not_there_says_so(
    kafka_bootstrap: str, admin: KafkaAdminClient, suffix: str
) -> None:
    spec = spec_of(f"tv-{suffix}", kafka_bootstrap, suffix)
    with pytest.raises(TopicNotFoundError, match=f"topic 'out-{suffix}' does not exist"):
        peek(check_peek(spec, f"out-{suffix}", 0, 5, None))
    create(admin, {f"in-{suffix}": 2})
    with pytest.raises(PeekRequestError, match=f"topic 'in-{suffix}' has no partition 2"):
        peek(check_peek(spec, f"in-{suffix}", 2, 5, None))


def test_an_unreachable_broker_is_reported_within_seconds_never_raised_from_the_table() -> None:
    address = unused_address()
    began = time.monotonic()
    table = read_topics(spec_of("tv", address, "x"))
    assert time.monotonic() - began < 10
    assert list(table["brokerErrors"]) == [address]
    assert table["brokerErrors"][address].startswith(f"Kafka at {address} is not reachable")
    assert all(t["problem"] == table["brokerErrors"][address] for t in table["topics"])
    with pytest.raises(BrokerUnavailableError, match=f"Kafka at {address} is not reachable"):
        peek(PeekRequest(address, "in-x", 0, 5))
