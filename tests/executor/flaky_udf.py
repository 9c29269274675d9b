"""word-count that fails every 5000th line, to prove a failed batch is redone, not lost or doubled."""

from collections.abc import Iterator
from itertools import count

from executor.samples.word_count import split_line
from executor.sdk import TEXT, KeyState, Record, Udf, add

_calls = count(1)


def flaky_split(record: Record, state: KeyState) -> Iterator[tuple[str, int]]:
    if next(_calls) % 5000 == 0:
        raise RuntimeError("simulated UDF failure")
    yield from split_line(record, state)


udf = Udf(process=flaky_split, input_codec=TEXT, stateful=False, combine=add)
