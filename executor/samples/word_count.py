"""word-count: splits each text line into words and emits (word, 1) for every word.

Stateless. The combiner adds the ones of equal words within a batch, so a batch of a thousand
lines emits one record per distinct word instead of one per word; downstream totals are the
same because a batch is committed all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from executor.sdk import TEXT, KeyState, Record, Udf, add


def split_line(record: Record, state: KeyState) -> Iterator[tuple[str, int]]:
    for word in record.value.split():
        yield word, 1


udf = Udf(process=split_line, input_codec=TEXT, stateful=False, combine=add)
