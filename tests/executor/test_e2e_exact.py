"""End to end with the real broker and Redis: pods run as processes; totals must be exact."""

import pytest

from tests.executor.harness import LineProducer, make_lines, split, wait_for_exact_totals

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
