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


@dataclass
class BatchResult:
    """What one batch produced, per input partition, encoded."""

    outputs: dict[int, list[RawOutput]] = field(default_factory=dict)
    writes: dict[int, dict[bytes, bytes | None]] = field(default_factory=dict)  # None = delete
    records: int = 0


def run_batch(udf: Udf, batch: Mapping[int, list[RawRecord]], read_state: StateReader) -> BatchResult:
    """Applies `udf` to every record of `batch`; state is read once, before any record runs."""
    committed = _read_committed(udf, batch, read_state) if udf.stateful else {}
    result = BatchResult()
    for partition, records in batch.items():
        values = committed.get(partition, {})
        dirty: set[bytes] = set()
        emitted = _Emitted(udf.combine)
        for raw in records:
            emitted.extend(udf.process(_decode(udf, raw, partition), _state_for(udf, values, raw[0], dirty)))
        result.outputs[partition] = emitted.encoded(udf)
        if udf.stateful:
            result.writes[partition] = _written(udf, values, dirty)
        result.records += len(records)
    return result


def _read_committed(
    udf: Udf, batch: Mapping[int, list[RawRecord]], read_state: StateReader
) -> dict[int, dict[bytes, Any]]:
    keys = {p: list(dict.fromkeys(r[0] for r in recs if r[0] is not None)) for p, recs in batch.items()}
    fetched = read_state(keys)
    decode = udf.state_codec.decode
    return {
        p: {k: decode(v) for k, v in zip(keys[p], fetched.get(p, []), strict=True) if v is not None}
        for p in keys
    }


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
