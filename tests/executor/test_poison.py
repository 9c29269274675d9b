"""A record the UDF raises on: the batch code reports it and keeps what came before; the tracker
retries it a bounded number of times, then gives it up to the dead-letter topic."""

import pytest

from executor.batch import run_batch
from executor.dead_letters import PoisonTracker
from executor.sdk import JSON, TEXT, KeyState, Record, Udf, keep_last
from executor.testing import UdfTester


def append_unless_bad(record: Record, state: KeyState):
    seen = state.get([])
    seen.append(record.value)  # mutated in place before the UDF decides to raise
    if record.value == "bad":
        raise ValueError("bad record")
    state.set(seen)
    yield record.key, seen


udf = Udf(process=append_unless_bad, input_codec=TEXT, output_codec=JSON, combine=keep_last)


def raw(key: str, value: str, offset: int):
    return (key.encode(), value.encode(), offset, 0)


def test_the_failed_record_is_reported_and_the_records_before_it_are_kept_without_its_changes():
    committed = {b"k": JSON.encode(["old"])}
    batch = {0: [raw("k", "a", 10), raw("k", "bad", 11), raw("k", "c", 12)], 1: [raw("k", "z", 5)]}
    result = run_batch(udf, batch, lambda keys: {p: [committed.get(k) for k in ks] for p, ks in keys.items()})
    assert result.failed[0].offset == 11
    assert result.failed[0].error == "ValueError: bad record"
    assert isinstance(result.failed[0].exception, ValueError)
    # Partition 0 holds exactly the record before the failed one; "bad" left no trace in state.
    assert result.writes[0] == {b"k": JSON.encode(["old", "a"])}
    assert result.outputs[0] == [(b"k", JSON.encode(["old", "a"]))]
    assert 1 not in result.failed
    assert result.writes[1] == {b"k": JSON.encode(["old", "z"])}
    assert result.records == 2


def test_a_unit_test_sees_the_udfs_own_exception():
    with pytest.raises(ValueError, match="bad record"):
        UdfTester(udf).run([Record(key="k", value="bad")])


def test_a_record_is_retried_a_bounded_number_of_times_then_dead_lettered():
    tracker = PoisonTracker(retries=2)
    assert tracker.failed(3, offset=40) is False  # first failure: held, retried later
    assert tracker.holding(3)
    assert tracker.failed(3, offset=40) is False
    assert tracker.failed(3, offset=40) is True  # third failure of the same record: given up
    assert not tracker.holding(3)
    assert tracker.failed(3, offset=41) is False  # the next record starts counting afresh


def test_a_retry_becomes_due_after_its_pause(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("executor.dead_letters.time.monotonic", lambda: clock[0])
    tracker = PoisonTracker(retries=3)
    tracker.failed(1, offset=7)
    assert tracker.due() == []
    clock[0] += 0.5  # the first pause is 0.4 s
    assert tracker.due() == [1]
    assert not tracker.holding(1)
