"""The changelog topic on the real broker: its name, its creation, and what a restore reads back."""

import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from executor import changelog
from executor.config import parse_main


def main_config(bootstrap: str, deployment: str, input_topic: str = "in"):
    return parse_main(
        {"deployment": deployment, "entity": "sum", "bootstrapServers": bootstrap, "inputTopic": input_topic,
         "outputTopic": "out", "stateBackend": {"kind": "redis", "url": "redis://127.0.0.1:1/0"}}
    )  # fmt: skip


def test_the_name_says_whose_state_it_is_and_stays_within_kafkas_limit():
    assert changelog.topic_name(main_config("b", "dep", "lines")) == "dep.sum.lines.changelog"
    long = changelog.topic_name(main_config("b", "dep", "t" * 249))
    assert len(long) <= 249
    assert long.startswith("dep.sum.")
    assert long.endswith(".changelog")
    assert long != changelog.topic_name(main_config("b", "dep", "u" * 249))


@pytest.fixture
def entity(kafka_bootstrap):
    name = f"cl-{uuid.uuid4().hex[:8]}"
    main = main_config(kafka_bootstrap, name, f"{name}-in")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics({main.input_topic: {"num_partitions": 3}}, wait_for_metadata=True)
    yield main
    admin.delete_topics(
        [t for t in (main.input_topic, changelog.topic_name(main)) if t in admin.list_topics()]
    )
    admin.close()


def test_it_is_created_compacted_with_the_input_partitions_and_grown_with_them(entity):
    assert changelog.ensure_topic(entity, {}) == 3
    admin = KafkaAdminClient(bootstrap_servers=entity.bootstrap_servers)
    try:
        topic = changelog.topic_name(entity)
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])["topic"][topic]
        assert configs["cleanup.policy"]["value"] == "compact"
        admin.create_partitions({entity.input_topic: 5})
    finally:
        admin.close()
    assert changelog.ensure_topic(entity, {}) == 5
    assert changelog.ensure_topic(entity, {}) == 5  # idempotent, never shrinks


def transaction(producer, topic, writes, offset, commit=True):
    producer.begin_transaction()
    changelog.send(producer, topic, 1, writes, offset)
    if commit:
        producer.commit_transaction()
    else:
        producer.abort_transaction()


def test_a_read_yields_the_committed_state_and_the_offset_it_reflects(entity):
    changelog.ensure_topic(entity, {})
    topic = changelog.topic_name(entity)
    producer = KafkaProducer(bootstrap_servers=entity.bootstrap_servers, transactional_id=f"{topic}-test")
    producer.init_transactions()
    try:
        transaction(producer, topic, {b"a": b"1", b"b": b"1", b"": b"empty key"}, 10)
        transaction(producer, topic, {b"a": b"2", b"b": None}, 20)  # b deleted
        transaction(producer, topic, {b"a": b"99", b"c": b"9"}, 30, commit=False)  # aborted: never seen
        transaction(producer, topic, {}, 40)  # a batch that wrote nothing still moves the marker
    finally:
        producer.close()
    reading = changelog.Reading()
    state: dict[bytes, bytes | None] = {}
    for chunk in changelog.read_ahead(entity, "test", 1, reading):
        state.update(chunk)
    assert {k: v for k, v in state.items() if v is not None} == {b"a": b"2", b"": b"empty key"}
    assert state[b"b"] is None  # a tombstone: the restore deletes it
    assert reading.marker == 40
    consumer = KafkaConsumer(bootstrap_servers=entity.bootstrap_servers)
    try:
        assert changelog.empty_partitions(consumer, topic, [0, 1, 2]) == {0, 2}
    finally:
        consumer.close()
