"""Helpers for a UDF's unit tests: no Kafka, no sockets, no Redis, the pod's own batch code.

    from executor.testing import UdfTester

    def test_it_counts_words():
        tester = UdfTester(word_count.udf)
        assert tester.run(["a b a"]) == [("a", 2), ("b", 1)]

Inputs are encoded with the UDF's codecs and outputs decoded again, so a codec mismatch fails
the unit test rather than the pod. State is kept per partition between `run` calls, as it is
in a pod between batches, and can be seeded and inspected decoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from executor.batch import RawRecord, run_batch
from executor.sdk import Record, Udf


class UdfTester:
    """Feeds batches through a UDF and keeps its state, like one pod owning some partitions."""

    def __init__(self, udf: Udf, state: dict[Any, Any] | None = None, partition: int = 0) -> None:
        self.udf = udf
        self.outputs: list[tuple[Any, Any]] = []
        self._offsets: dict[int, int] = {}
        self._state: dict[int, dict[bytes, bytes]] = {}
        for key, value in (state or {}).items():
            self._state.setdefault(partition, {})[self._key(key)] = udf.state_codec.encode(value)

    def run(self, records: Iterable[Record | Any], partition: int = 0) -> list[tuple[Any, Any]]:
        """Processes one batch; a plain item is a record value, a Record also sets key/timestamp."""
        raw = [self._encode(item, partition) for item in records]
        result = run_batch(self.udf, {partition: raw}, self._read)
        if partition in result.failed:  # in a pod: retried, then dead-lettered; here: the test fails
            raise result.failed[partition].exception
        stored = self._state.setdefault(partition, {})
        for key, value in result.writes.get(partition, {}).items():
            stored.pop(key, None) if value is None else stored.__setitem__(key, value)
        outputs = [self._decode_output(k, v) for k, v in result.outputs[partition]]
        self.outputs.extend(outputs)
        return outputs

    def state(self, partition: int = 0) -> dict[Any, Any]:
        """The committed state of a partition, decoded."""
        codec, keys = self.udf.state_codec, self.udf.key_codec
        return {keys.decode(k): codec.decode(v) for k, v in self._state.get(partition, {}).items()}

    def _read(self, keys: dict[int, list[bytes]]) -> dict[int, list[bytes | None]]:
        return {p: [self._state.get(p, {}).get(k) for k in ks] for p, ks in keys.items()}

    def _key(self, key: Any) -> bytes:
        return self.udf.key_codec.encode(key)

    def _encode(self, item: Record | Any, partition: int) -> RawRecord:
        record = item if isinstance(item, Record) else Record(value=item)
        offset = self._offsets.get(partition, 0)
        self._offsets[partition] = offset + 1
        key = None if record.key is None else self._key(record.key)
        value = None if record.value is None else self.udf.input_codec.encode(record.value)
        return key, value, offset, record.timestamp

    def _decode_output(self, key: bytes | None, value: bytes | None) -> tuple[Any, Any]:
        return (
            None if key is None else self.udf.key_codec.decode(key),
            None if value is None else self.udf.output_codec.decode(value),
        )


def run_udf(
    udf: Udf, records: Iterable[Record | Any], state: dict[Any, Any] | None = None
) -> list[tuple[Any, Any]]:
    """One batch through a fresh UdfTester: the shortest possible UDF test."""
    return UdfTester(udf, state).run(records)
