"""End to end with the real broker and Redis: pods run as processes; totals must be exact."""

from collections import Counter

import pytest

from tests.executor.harness import LineProducer, Totals, make_lines, read_topic, split, wait_for_exact_totals
from tests.localpod import metric_sum

pytestmark = pytest.mark.slow


def test_word_count_into_sum_gives_exact_totals(topology):
    topo = topology()
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.produce(make_lines(100_000, seed=1))
    producer.stop()

    topo.counter.assign(split(6, 3, "splitter"))
    topo.summer.assign(split(6, 1, "summer"))
    wait_for_exact_totals(topo)
    assert not any(pod.crashed() for pod in topo.pods())


def test_a_batch_the_udf_fails_is_redone_exactly_once(topology):
    topo = topology(counter_udf="tests.executor.flaky_udf:udf")
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.produce(make_lines(30_000, seed=6))
    producer.stop()

    topo.counter.assign(split(6, 1, "splitter"))
    topo.summer.assign(split(6, 1, "summer"))
    wait_for_exact_totals(topo, timeout=120)
    failures = topo.counter.pods["splitter-0"].metrics()[("invoker_errors_total", (("kind", "udf"),))]
    assert failures >= 5  # one per 5000 lines: the UDF host really failed batches
    assert not any(pod.crashed() for pod in topo.pods())


def test_a_record_the_udf_always_raises_on_goes_to_the_dead_letter_topic_and_the_rest_stays_exact(topology):
    topo = topology(counter_udf="tests.executor.poison_udf:udf")
    lines = make_lines(20_000, seed=7)
    poisoned = {100: "w001 poison", 7_000: "poison w002", 15_001: "w003 w004 poison"}
    flaky = {50: "w005 flaky", 9_000: "flaky w006"}
    for index, line in {**poisoned, **flaky}.items():
        lines[index] = line
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.produce(lines)
    producer.stop()

    topo.counter.assign(split(6, 2, "splitter"))
    topo.summer.assign(split(6, 1, "summer"))
    expected = Counter(w for i, line in enumerate(lines) if i not in poisoned for w in line.split())
    totals = Totals(topo.bootstrap, topo.totals_topic, topo.PARTITIONS)
    try:
        totals.wait_exact(expected, timeout=120)
    finally:
        totals.close()
    letters = read_topic(
        topo.bootstrap, f"{topo.name}.word-count.dead-letter", topo.PARTITIONS, committed_only=True
    )
    assert sorted(r.value.decode() for r in letters) == sorted(poisoned.values())
    for record in letters:
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["invoker.error"].startswith("ValueError: cannot split")
        assert headers["invoker.entity"] == "word-count"
        assert headers["invoker.topic"] == topo.lines_topic
        assert int(headers["invoker.partition"]) == record.partition  # lines are spread round-robin
        assert (
            lines[int(headers["invoker.offset"]) * topo.PARTITIONS + record.partition]
            == record.value.decode()
        )
    dead = sum(metric_sum(pod.metrics(), "invoker_dead_letters_total") for pod in topo.counter.pods.values())
    assert dead == len(poisoned)
    assert not any(pod.crashed() for pod in topo.pods())
