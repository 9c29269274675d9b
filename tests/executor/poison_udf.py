"""word-count that always raises on a line containing "poison", and once on each "flaky" line."""

from collections.abc import Iterator

from executor.samples.word_count import split_line
from executor.sdk import TEXT, KeyState, Record, Udf, add

_seen_flaky: set[tuple[int, int]] = set()


def split_unless_poisoned(record: Record, state: KeyState) -> Iterator[tuple[str, int]]:
    if "poison" in record.value:
        raise ValueError(f"cannot split {record.value!r}")
    if "flaky" in record.value and (record.partition, record.offset) not in _seen_flaky:
        _seen_flaky.add((record.partition, record.offset))
        raise RuntimeError("a transient failure")
    yield from split_line(record, state)


udf = Udf(process=split_unless_poisoned, input_codec=TEXT, stateful=False, combine=add)
