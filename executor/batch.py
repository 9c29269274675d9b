"""Runs a UDF over one batch: decode, read the keys' state once, call `process`, combine, encode.

The UDF host and the testing helpers both use this one function, so a UDF's unit test exercises
exactly the code path of a pod, codecs and combiner included. Input and output are plain bytes
per input partition, as they cross the socket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from executor.sdk import ABSENT, KeyState, NoState, Record, Udf

RawRecord = tuple[bytes | None, bytes | None, int, int]  # key, value, offset, timestamp (ms)
RawOutput = tuple[bytes | None, bytes | None]
StateReader = Callable[[dict[int, list[bytes]]], dict[int, list[bytes | None]]]
NO_STATE = NoState()


@dataclass(frozen=True)
class RecordFailure:
    """The record a UDF raised on: where it is, and what was raised."""

    offset: int
    error: str
    exception: BaseException


@dataclass
class BatchResult:
    """What one batch produced, per input partition, encoded.

    A partition whose UDF raised on a record has its outputs and writes for the records before
    that one only, and the record in `failed`: the records after it were not processed.
    """

    outputs: dict[int, list[RawOutput]] = field(default_factory=dict)
    writes: dict[int, dict[bytes, bytes | None]] = field(default_factory=dict)  # None = delete
    records: int = 0
    failed: dict[int, RecordFailure] = field(default_factory=dict)


class _RecordError(Exception):
    def __init__(self, index: int, exception: BaseException) -> None:
        super().__init__(index)
        self.index, self.exception = index, exception


def run_batch(udf: Udf, batch: Mapping[int, list[RawRecord]], read_state: StateReader) -> BatchResult:
    """Applies `udf` to every record of `batch`; state is read once, before any record runs.

    When the UDF raises on a record, that partition is run again from its committed state up to
    the record before (in-place changes of state values cannot be undone otherwise), and the
    record is reported in `failed`; the other partitions are not affected.
    """
    fetched = _fetch_committed(udf, batch, read_state) if udf.stateful else {}
    result = BatchResult()
    for partition, records in batch.items():
        limit = len(records)
        while True:
            try:
                values = _decode_state(udf, fetched.get(partition, {}))
                outputs, writes = _run_partition(udf, partition, records[:limit], values)
                break
            except _RecordError as failed:
                limit = failed.index
                exc = failed.exception
                result.failed[partition] = RecordFailure(
                    records[limit][2], f"{type(exc).__name__}: {exc}", exc
                )
        result.outputs[partition] = outputs
        if udf.stateful:
            result.writes[partition] = writes
        result.records += limit
    return result


def _run_partition(
    udf: Udf, partition: int, records: list[RawRecord], values: dict[bytes, Any]
) -> tuple[list[RawOutput], dict[bytes, bytes | None]]:
    dirty: set[bytes] = set()
    emitted = _Emitted(udf.combine)
    for index, raw in enumerate(records):
        try:
            emitted.extend(udf.process(_decode(udf, raw, partition), _state_for(udf, values, raw[0], dirty)))
        except Exception as exc:  # the user's code (or a codec) raised on this record
            raise _RecordError(index, exc) from exc
    return emitted.encoded(udf), (_written(udf, values, dirty) if udf.stateful else {})


def _fetch_committed(
    udf: Udf, batch: Mapping[int, list[RawRecord]], read_state: StateReader
) -> dict[int, dict[bytes, bytes]]:
    keys = {p: list(dict.fromkeys(r[0] for r in recs if r[0] is not None)) for p, recs in batch.items()}
    fetched = read_state(keys)
    return {
        p: {k: v for k, v in zip(keys[p], fetched.get(p, []), strict=True) if v is not None} for p in keys
    }


def _decode_state(udf: Udf, raw: dict[bytes, bytes]) -> dict[bytes, Any]:
    decode = udf.state_codec.decode
    return {k: decode(v) for k, v in raw.items()}


def _decode(udf: Udf, raw: RawRecord, partition: int) -> Record:
    key, value, offset, timestamp = raw
    return Record(
        value=None if value is None else udf.input_codec.decode(value),
        key=None if key is None else udf.key_codec.decode(key),
        partition=partition,
        offset=offset,
        timestamp=timestamp,
    )


def _state_for(udf: Udf, values: dict[bytes, Any], key: bytes | None, dirty: set[bytes]) -> KeyState:
    return KeyState(values, key, dirty) if udf.stateful else NO_STATE


def _written(udf: Udf, values: dict[bytes, Any], dirty: set[bytes]) -> dict[bytes, bytes | None]:
    encode = udf.state_codec.encode
    return {key: None if values[key] is ABSENT else encode(values[key]) for key in dirty}


class _Emitted:
    """Collects outputs in emit order, merging equal keys when the UDF has a combiner."""

    def __init__(self, combine: Callable[[Any, Any], Any] | None) -> None:
        self._combine = combine
        self._plain: list[tuple[Any, Any]] = []
        self._merged: dict[Any, Any] = {}

    def extend(self, outputs: Iterable[tuple[Any, Any]] | None) -> None:
        if outputs is None:
            return
        if self._combine is None:
            self._plain.extend(outputs)
            return
        merged, combine = self._merged, self._combine
        for key, value in outputs:
            if key is None:
                self._plain.append((key, value))
            elif key in merged:
                merged[key] = combine(merged[key], value)
            else:
                merged[key] = value

    def encoded(self, udf: Udf) -> list[RawOutput]:
        ek, ev = udf.key_codec.encode, udf.output_codec.encode
        items = [*self._plain, *self._merged.items()]
        return [(None if k is None else ek(k), None if v is None else ev(v)) for k, v in items]
