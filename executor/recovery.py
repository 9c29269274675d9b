"""Brings a partition's state cache in line with Kafka before the partition is consumed.

Runs once per acquisition, after `init_transactions` (so no transaction of the partition is open
any more) and after the committed input offset was read. Kafka decides; Redis follows:

| committed | cache             | changelog | action                                          |
| --------- | ----------------- | --------- | ----------------------------------------------- |
| X         | reflects X        | has data  | none: resume at X                               |
| X         | reflects X        | empty     | seed: write the cache to the changelog          |
| X         | missing or not X  | any       | restore from the changelog, resume at X         |
| none      | any               | has data  | restore, resume at the changelog's marker       |
| none      | reflects Y        | empty     | seed, resume at Y (state older than changelog)  |
| none      | missing           | empty     | a fresh partition: start at the beginning       |

("none": never committed, or the group's offsets expired after `offsets.retention.minutes`.)

A restore whose changelog ends on another offset than the committed one is never refused:
- the changelog is empty (the state predates it, or the topic was deleted) and the input still
  starts at offset 0: the state is rebuilt by processing the input again from its first record
  (`invoker_errors_total{kind="state_rebuilt"}`; outputs before the committed offset repeat);
- otherwise (offsets reset by hand, or the first input records are gone) it is logged as an error,
  counted as `invoker_errors_total{kind="state_diverged"}`, and the partition goes on from the
  committed offset with the changelog's state.

Stateless UDFs keep no changelog: they only adopt the committed offset.
"""

from __future__ import annotations

import logging

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from executor import changelog, metrics
from executor.config import MainConfig
from executor.kafka_clients import BoundedProducer, admin_options
from executor.protocol import Client, RemoteError

log = logging.getLogger(__name__)


class StateRecovery:
    """The state side of acquiring a partition; holds what stays the same for a runtime."""

    def __init__(self, main: MainConfig, pod: str, consumer: KafkaConsumer, state: Client, stateful: bool):
        self.main, self.pod, self.consumer, self.state = main, pod, consumer, state
        self.stateful = stateful
        self.topic = changelog.topic_name(main) if stateful else None
        self._partitions = 0  # changelog partitions known to exist

    def prepare_topic(self) -> None:
        """Creates or grows the changelog topic; a start-up step, retried by the caller."""
        if self.stateful:
            self._partitions = changelog.ensure_topic(self.main, admin_options())

    def empty_changelogs(self, partitions: list[int]) -> set[int]:
        """Which of these partitions' changelogs hold nothing, in one request per broker."""
        if not self.stateful or not partitions:
            return set()
        if max(partitions) >= self._partitions:  # the input topic grew since start-up
            self.prepare_topic()
        assert self.topic is not None
        return changelog.empty_partitions(self.consumer, self.topic, partitions)

    def resume(
        self,
        partition: int,
        producer: BoundedProducer,
        committed: int | None,
        fence: dict[str, object],
        empty: bool,
    ) -> int | None:
        """Makes the cache reflect the committed state of `partition` (whose changelog is `empty`
        or not, see empty_changelogs); returns where to resume."""
        found = self.state.call(
            "recover", partition=partition, committed=committed, stateful=self.stateful, **fence
        )
        cached, behind = found["offset"], bool(found["behind"])
        if not self.stateful:
            return committed if committed is not None else cached
        if behind or (committed is None and not empty):
            return self._restore(partition, committed, cached, fence)
        resume = committed if committed is not None else cached
        if empty and resume is not None:
            self._seed(partition, producer, resume, fence)
        return resume

    def _restore(
        self, partition: int, committed: int | None, cached: int | None, fence: dict[str, object]
    ) -> int | None:
        reading = changelog.Reading()
        first = True
        for chunk in changelog.read_ahead(self.main, self.pod, partition, reading):
            self._load(partition, chunk, fence, first=first)
            first = False
        resume = self._resume_after_restore(partition, committed, reading)
        self._load(partition, {}, fence, first=first, done=True, offset=resume)
        metrics.RESTORE_SECONDS.observe(reading.seconds)
        metrics.RESTORED_KEYS.inc(reading.keys)
        log.info(
            "partition %d: the state cache reflected offset %s, Kafka committed %s; restored %d keys "
            "(%d changelog records) in %.2fs; resuming at %s",
            partition,
            cached,
            committed,
            reading.keys,
            reading.records,
            reading.seconds,
            resume,
        )
        return resume

    def _resume_after_restore(
        self, partition: int, committed: int | None, reading: changelog.Reading
    ) -> int | None:
        """Where to go on once the cache holds the changelog's state: where Kafka committed, which
        is where the changelog ends, unless the two disagree."""
        if committed is None or reading.marker == committed:
            return committed if committed is not None else reading.marker
        if reading.marker is None and self._input_starts_at_zero(partition):
            # State older than its changelog (written before the changelog existed, or the topic
            # was deleted): the input still holds every record, so the state is rebuilt from it.
            metrics.ERRORS.labels("state_rebuilt").inc()
            log.warning(
                "partition %d: Kafka committed input offset %s but the changelog is empty; rebuilding the "
                "state from the first input record (the outputs of offsets before %s are produced again)",
                partition,
                committed,
                committed,
            )
            return None
        metrics.ERRORS.labels("state_diverged").inc()
        log.error(
            "partition %d: the changelog reflects input offset %s but Kafka committed %s (offsets reset "
            "by hand, or state older than the changelog and the input's first records are gone); going "
            "on from %s with the changelog's state",
            partition,
            reading.marker,
            committed,
            committed,
        )
        return committed

    def _input_starts_at_zero(self, partition: int) -> bool:
        tp = TopicPartition(self.main.input_topic, partition)
        return self.consumer.beginning_offsets([tp], timeout_ms=15000)[tp] == 0

    def _load(
        self,
        partition: int,
        items: dict[bytes, bytes | None],
        fence: dict[str, object],
        first: bool,
        done: bool = False,
        offset: int | None = None,
    ) -> None:
        result = self.state.call(
            "restore", partition=partition, items=items, first=first, done=done, offset=offset, **fence
        )["result"]
        if result != "ok":
            raise RemoteError("Fenced", f"partition {partition}: {result} while restoring its state")

    def _seed(self, partition: int, producer: BoundedProducer, resume: int, fence: dict[str, object]) -> None:
        """Copies the cache into an empty changelog partition, in a transaction that also commits
        `resume` again, so state written before the changelog existed is never lost."""
        assert self.topic is not None
        producer.begin_transaction()
        cursor, keys = 0, 0
        while True:
            page = self.state.call("scan", partition=partition, cursor=cursor, count=changelog.CHUNK, **fence)
            changelog.send_writes(producer, self.topic, partition, page["items"])
            keys += len(page["items"])
            cursor = int(page["cursor"])
            if cursor == 0:
                break
        changelog.send_marker(producer, self.topic, partition, resume)
        tp = TopicPartition(self.main.input_topic, partition)
        producer.send_offsets_to_transaction({tp: OffsetAndMetadata(resume, "", -1)}, self.main.group_id)
        producer.commit_transaction()
        log.info("partition %d: wrote %d cached keys to the empty changelog %s", partition, keys, self.topic)
