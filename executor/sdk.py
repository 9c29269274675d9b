"""What a user writes: a function from one record (and its key's state) to output records.

    from executor.sdk import Udf, Record, KeyState, TEXT, add

    def split_line(record: Record, state: KeyState):
        for word in record.value.split():
            yield word, 1

    udf = Udf(process=split_line, input_codec=TEXT, stateful=False, combine=add)

The host calls `process` once per input record, in offset order within a partition. State is
*keyed*: `state` reads and writes the value stored for the record's own key in the record's
partition, which is what lets state move with a partition and lets the host fetch every key a
batch needs in one round trip before the batch instead of one per access.

`combine` (optional) merges two outputs with the same key produced from one partition in one
batch (`add` for counts, `keep_last` for running totals). Batches are committed atomically, so
a combiner changes how many records downstream sees, never what they add up to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Output = tuple[Any, Any]


@dataclass(frozen=True)
class Codec:
    """Turns Kafka bytes into Python values and back; `None` passes through (no key, tombstone)."""

    name: str
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]


#: One encoder for every value: `json.dumps` with options builds a new JSONEncoder per call,
#: which was most of the cost of encoding a batch's outputs (py-spy of a word-count pod).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _json_encode(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


TEXT = Codec("text", str.encode, bytes.decode)
JSON = Codec("json", _json_encode, json.loads)
RAW = Codec("raw", bytes, bytes)


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded input record."""

    value: Any
    key: Any = None
    partition: int = 0
    offset: int = 0
    timestamp: int = 0  # milliseconds since the epoch, as Kafka stores it


class KeyState:
    """The state of the current record's key in the current partition."""

    __slots__ = ("_dirty", "_key", "_values")

    def __init__(self, values: dict[bytes, Any], key: bytes | None, dirty: set[bytes] | None = None) -> None:
        self._values = values
        self._key = key
        self._dirty = dirty if dirty is not None else set()

    def get(self, default: Any = None) -> Any:
        value = self._values.get(self._require_key(), _ABSENT)
        return default if value is _ABSENT else value

    def set(self, value: Any) -> None:
        """Stores `value` (also after mutating it in place: a set marks the key as written)."""
        key = self._require_key()
        self._values[key] = value
        self._dirty.add(key)

    def delete(self) -> None:
        key = self._require_key()
        self._values[key] = _ABSENT
        self._dirty.add(key)

    def _require_key(self) -> bytes:
        if self._key is None:
            raise LookupError("a record without a key has no state; key the input or use stateful=False")
        return self._key


class _Absent:
    """Marks a key with no value (never stored, or deleted in this batch)."""

    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()
ABSENT = _ABSENT


class NoState(KeyState):
    """What a stateless UDF gets: any use is a mistake worth an error, not a silent no-op."""

    def __init__(self) -> None:
        super().__init__({}, None)

    def _require_key(self) -> bytes:
        raise LookupError("this UDF was declared stateful=False")


Process = Callable[[Record, KeyState], Iterable[Output] | None]


@dataclass(frozen=True)
class Udf:
    """A user-defined function and how its records are (de)serialised."""

    process: Process
    input_codec: Codec = JSON
    output_codec: Codec = JSON
    key_codec: Codec = TEXT
    state_codec: Codec = JSON
    stateful: bool = True
    combine: Callable[[Any, Any], Any] | None = None


def add(old: Any, new: Any) -> Any:
    """Combiner for counts and sums: two partial results add up."""
    return old + new


def keep_last(old: Any, new: Any) -> Any:
    """Combiner for latest-value outputs such as running totals: only the newest matters."""
    return new
