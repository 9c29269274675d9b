"""The SDK as a user meets it: the samples, the testing helpers, codecs, combiners and state."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from executor.samples import sum as sum_sample
from executor.samples import word_count
from executor.sdk import JSON, TEXT, KeyState, Record, Udf, keep_last
from executor.testing import UdfTester, run_udf


def test_word_count_emits_one_combined_count_per_word():
    assert run_udf(word_count.udf, ["a b a", "b c", ""]) == [("a", 2), ("b", 2), ("c", 1)]


def test_sum_keeps_a_running_total_per_word_across_batches():
    tester = UdfTester(sum_sample.udf)
    tester.run([Record(key="a", value=2), Record(key="b", value=1), Record(key="a", value=3)])
    assert tester.run([Record(key="a", value=1)]) == [("a", 6)]
    assert tester.state() == {"a": 6, "b": 1}


def test_sum_emits_only_the_newest_total_of_a_word_in_a_batch():
    outputs = run_udf(sum_sample.udf, [Record(key="a", value=1), Record(key="a", value=1)], state={"a": 5})
    assert outputs == [("a", 7)]


def test_state_is_kept_per_partition():
    tester = UdfTester(sum_sample.udf)
    tester.run([Record(key="a", value=1)], partition=0)
    tester.run([Record(key="a", value=10)], partition=1)
    assert (tester.state(0), tester.state(1)) == ({"a": 1}, {"a": 10})


def test_a_udf_without_combiner_emits_every_output_in_order():
    udf = Udf(process=lambda r, s: [(r.value, 1), (None, r.value)], input_codec=TEXT, stateful=False)
    assert run_udf(udf, ["x", "x"]) == [("x", 1), (None, "x"), ("x", 1), (None, "x")]


def test_deleting_state_removes_the_key():
    def forget(record: Record, state: KeyState):
        state.delete()
        return None

    tester = UdfTester(Udf(process=forget), state={"a": 1, "b": 2})
    tester.run([Record(key="a", value=0)])
    assert tester.state() == {"b": 2}


def test_in_place_mutation_is_stored_when_set_again():
    def append(record: Record, state: KeyState):
        seen = state.get([])
        seen.append(record.value)
        state.set(seen)

    tester = UdfTester(Udf(process=append))
    tester.run([Record(key="k", value=1)])
    tester.run([Record(key="k", value=2)])
    assert tester.state() == {"k": [1, 2]}


def test_a_stateless_udf_that_touches_state_fails_loudly():
    udf = Udf(process=lambda r, s: s.set(1), input_codec=TEXT, stateful=False)
    with pytest.raises(LookupError, match="stateful=False"):
        run_udf(udf, ["x"])


def test_a_record_without_key_has_no_state():
    with pytest.raises(LookupError, match="without a key"):
        run_udf(sum_sample.udf, [Record(value=1)])


def test_codecs_round_trip_and_keep_none_for_tombstones():
    assert JSON.decode(JSON.encode({"a": [1, "é"]})) == {"a": [1, "é"]}
    assert TEXT.decode(TEXT.encode("é")) == "é"
    assert run_udf(Udf(process=lambda r, s: [("k", None)], stateful=False), [1]) == [("k", None)]


def test_keep_last_keeps_the_newest():
    assert keep_last(1, 2) == 2


@given(st.lists(st.lists(st.sampled_from("abcde"), max_size=8), max_size=30), st.integers(1, 7))
def test_combining_never_changes_the_totals_whatever_the_batch_boundaries(lines, batch_size):
    """word-count → sum over any batching adds up to the plain count of the words."""
    counter, summer = UdfTester(word_count.udf), UdfTester(sum_sample.udf)
    texts = [" ".join(words) for words in lines]
    for start in range(0, len(texts), batch_size):
        counts = counter.run(texts[start : start + batch_size])
        summer.run([Record(key=word, value=n) for word, n in counts])
    expected: dict[str, int] = {}
    for words in lines:
        for word in words:
            expected[word] = expected.get(word, 0) + 1
    assert summer.state() == expected
