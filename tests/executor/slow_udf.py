"""word-count capped at about a thousand lines per second per pod (a pause per line), so that a
step in the input rate outgrows one pod on any machine and the lag really grows."""

import time
from collections.abc import Iterator

from executor.samples.word_count import split_line
from executor.sdk import TEXT, KeyState, Record, Udf, add

PAUSE_SECONDS = 0.001


def slow_split(record: Record, state: KeyState) -> Iterator[tuple[str, int]]:
    time.sleep(PAUSE_SECONDS)
    yield from split_line(record, state)


udf = Udf(process=slow_split, input_codec=TEXT, stateful=False, combine=add)
