"""An entity's progress as the broker sees it: the records it has committed (processed, exactly
once) and its backlog (the input's end offsets minus those committed offsets).

The autoscaler reads these rather than the pods' ``invoker_consumer_lag`` gauge: that gauge
counts from the consumer's fetch position, which runs ahead of processing by the client's
fetch buffer, so it stays near 0 while a slow pod falls behind (seen on the real broker:
``tests/executor/test_e2e_autoscale.py``). Committed offsets only move when a batch's
transaction commits, so the backlog is what is really left to do. Nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from orchestrator.reconciler.topics import REQUEST_TIMEOUT_MS, admin_client, describe


@dataclass(frozen=True)
class Progress:
    processed: float
    backlog: float


def group_id(deployment: str, entity: str) -> str:
    """The consumer group holding an entity's committed input offsets (the pod contract's
    ``MainConfig.group_id``; never joined, the pods assign partitions by hand)."""
    return f"invoker.{deployment}.{entity}"


def entity_progress(bootstrap: str, topic: str, group: str) -> Progress:
    """Sums over the input topic's partitions; a partition nothing committed yet counts from 0.
    Raises ``kafka.errors.KafkaError`` when the broker cannot answer."""
    with admin_client(bootstrap) as admin:
        count = describe(admin, [topic]).get(topic)
        committed = admin.list_group_offsets(group).get(group, {})
    if not isinstance(count, int):  # no such topic (yet), or the broker's error about it
        return Progress(0.0, 0.0)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)
    try:
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(count)])
    finally:
        consumer.close()
    processed = backlog = 0.0
    for tp, end in ends.items():
        done = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0
        processed += done
        backlog += max(0, end - done)
    return Progress(processed, backlog)
