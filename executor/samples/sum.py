"""sum: keeps a running total per word (the record's key) and emits (word, total).

The state of a word lives in the partition its key hashes to, so it follows that partition to
whichever pod owns it. `keep_last` means a batch emits each touched word once, with its newest
total.
"""

from __future__ import annotations

from collections.abc import Iterator

from executor.sdk import KeyState, Record, Udf, keep_last


def running_total(record: Record, state: KeyState) -> Iterator[tuple[str, int]]:
    total = state.get(0) + record.value
    state.set(total)
    yield record.key, total


udf = Udf(process=running_total, combine=keep_last)
