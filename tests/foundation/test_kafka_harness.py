"""The broker the tests use is a real Kafka: partitions, manual assignment, real offsets."""

import uuid

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

RECORDS = 10_000
PARTITIONS = 6


def create_topic(bootstrap: str, partitions: int) -> str:
    name = f"harness-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()
    return name


def produce(bootstrap: str, topic: str) -> dict[int, set[bytes]]:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    futures = [
        producer.send(topic, key=str(i).encode(), value=f"record-{i}".encode()) for i in range(RECORDS)
    ]
    producer.flush()
    by_partition: dict[int, set[bytes]] = {p: set() for p in range(PARTITIONS)}
    for i, future in enumerate(futures):
        by_partition[future.get(timeout=30).partition].add(f"record-{i}".encode())
    producer.close()
    return by_partition


def consume_assigned(
    bootstrap: str, topic: str, partitions: list[int], expected: int
) -> list[tuple[int, bytes]]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10_000
    )
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    consumer.seek_to_beginning()
    received = []
    for record in consumer:
        received.append((record.partition, record.value))
        if len(received) >= expected:
            break
    # Drain whatever else might arrive: nothing must.
    extra = consumer.poll(timeout_ms=1000)
    received.extend((r.partition, r.value) for records in extra.values() for r in records)
    consumer.close()
    return received


def test_manual_assignment_of_three_partitions_receives_exactly_their_records(kafka_bootstrap: str) -> None:
    topic = create_topic(kafka_bootstrap, PARTITIONS)
    produced = produce(kafka_bootstrap, topic)
    assert all(produced[p] for p in range(PARTITIONS)), (
        "the default partitioner spread keys over all partitions"
    )
    wanted = [0, 1, 2]
    expected = {(p, v) for p in wanted for v in produced[p]}
    received = consume_assigned(kafka_bootstrap, topic, wanted, len(expected))
    assert len(received) == len(expected), "no record arrives twice"
    assert set(received) == expected
    assert sum(len(produced[p]) for p in range(PARTITIONS)) == RECORDS
