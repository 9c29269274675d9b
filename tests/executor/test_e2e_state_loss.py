"""End to end: the state store is lost (kill -9, an empty restart, everything stopped) and the
totals stay exact, because Kafka's changelog holds the state and Redis is only its cache.

Each test runs its own redis-server for the executors' state, so killing it disturbs nobody.
"""

import pytest
from kafka.admin import KafkaAdminClient

from executor import changelog
from executor.config import parse_main
from tests.executor.harness import (
    LineProducer,
    make_lines,
    reassign_and_wait,
    split,
    wait_for_exact_totals,
)
from tests.localpod import LocalEntity, metric_sum
from tests.polling import wait_until

pytestmark = pytest.mark.slow
RATE = 3000  # lines per second, about 10,000 words per second
LINES = 100_000  # at least this many lines pass through every test


def total(entity: LocalEntity, metric: str, **labels: str) -> float:
    """A metric summed over the entity's pods (and over labels not given)."""
    wanted = set(labels.items())
    return sum(
        value
        for pod in entity.pods.values()
        for (name, pod_labels), value in pod.metrics().items()
        if name == metric and wanted <= set(pod_labels)
    )


def committed(entity: LocalEntity) -> float:
    return total(entity, "invoker_transactions_total", outcome="committed")


def assert_restored_without_divergence(entity: LocalEntity) -> None:
    assert total(entity, "invoker_state_restored_keys_total") > 0  # the cache really was refilled
    assert total(entity, "invoker_errors_total", kind="state_diverged") == 0
    assert total(entity, "invoker_errors_total", kind="state_rebuilt") == 0


def run(topo, splitters: int = 3) -> None:
    topo.counter.assign(split(6, splitters, "splitter"))
    topo.summer.assign(split(6, 1, "summer"))


def test_kill_9_of_the_state_redis_mid_stream_keeps_totals_exact(topology, state_redis):
    topo = topology(state_url=state_redis.url)
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.start(make_lines(LINES, seed=11), per_second=RATE)
    try:
        topo.summer.assign(split(6, 1, "summer"))
        reassign_and_wait(topo.counter, split(6, 3, "splitter"))
        before = committed(topo.summer)
        wait_until(lambda: committed(topo.summer) > before + 10, 60, "the sum pod committing batches")
        state_redis.kill9()  # every running total the cache held is gone, mid-stream
        errors = total(topo.summer, "invoker_errors_total")
        wait_until(lambda: total(topo.summer, "invoker_errors_total") > errors, 30, "the sum pod noticing")
        state_redis.start()  # empty, on the same port
        wait_until(lambda: producer.sent >= LINES, 120, f"{LINES} lines produced")
    finally:
        producer.stop()
    wait_for_exact_totals(topo)
    assert_restored_without_divergence(topo.summer)
    assert not [pod.name for pod in topo.pods() if pod.crashed()]


def test_a_state_redis_restarted_with_an_empty_dataset_loses_no_total(topology, state_redis):
    topo = topology(state_url=state_redis.url)
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.produce(make_lines(LINES // 2, seed=12))
    run(topo, splitters=2)
    wait_for_exact_totals(topo)
    state_redis.shutdown_nosave()  # a Redis without disk, stopped and started: `the` is back to none
    state_redis.start()
    assert state_redis.keys() == 0
    producer.produce(make_lines(LINES // 2, seed=13))
    producer.stop()
    wait_for_exact_totals(topo)
    assert_restored_without_divergence(topo.summer)


def test_everything_stopped_and_started_on_an_empty_state_store_continues_the_totals(topology, state_redis):
    """What `./dev down` and `./dev up` do to a deployment: pods stop, the state store restarts
    empty, pods start again; the totals must go on from where they were."""
    topo = topology(state_url=state_redis.url)
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.produce(make_lines(LINES // 2, seed=14))
    run(topo)
    wait_for_exact_totals(topo)
    topo.counter.stop()
    topo.summer.stop()
    state_redis.shutdown_nosave()
    state_redis.start()
    producer.produce(make_lines(LINES // 2, seed=15))
    producer.stop()
    run(topo)
    wait_for_exact_totals(topo)
    assert_restored_without_divergence(topo.summer)
    assert metric_sum(topo.summer.pods["summer-0"].metrics(), "invoker_state_restore_seconds_count") == 6


def drop_changelog(topo) -> None:
    """Deletes the sum entity's changelog topic, as if its state had been written before it existed."""
    topic = changelog.topic_name(parse_main(topo.summer.main))
    admin = KafkaAdminClient(bootstrap_servers=topo.bootstrap)
    try:
        admin.delete_topics([topic])
        wait_until(lambda: topic not in admin.list_topics(), 60, f"{topic} deleted")
    finally:
        admin.close()


def stop_pods(topo) -> None:
    topo.counter.stop()
    topo.summer.stop()


def test_state_without_a_changelog_is_seeded_into_one_or_rebuilt_from_the_input(topology, state_redis):
    """State written before the changelog existed: while the cache holds it, it is copied into the
    empty changelog (and a later loss restores it from there); once the cache is gone too, it is
    rebuilt from the input, which still starts at offset 0."""
    topo = topology(state_url=state_redis.url)
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.produce(make_lines(LINES // 4, seed=16))
    run(topo, splitters=2)
    wait_for_exact_totals(topo)

    stop_pods(topo)
    drop_changelog(topo)  # the cache still holds every total: it is seeded into a new changelog
    producer.produce(make_lines(LINES // 4, seed=17))
    run(topo, splitters=2)
    wait_for_exact_totals(topo)
    assert total(topo.summer, "invoker_state_restored_keys_total") == 0

    stop_pods(topo)
    state_redis.shutdown_nosave()
    state_redis.start()  # now the cache is lost: the seeded changelog brings it back
    producer.produce(make_lines(LINES // 4, seed=18))
    run(topo, splitters=2)
    wait_for_exact_totals(topo)
    assert_restored_without_divergence(topo.summer)

    stop_pods(topo)
    state_redis.shutdown_nosave()
    state_redis.start()
    drop_changelog(topo)  # both gone: only the input is left to rebuild the totals from
    producer.produce(make_lines(LINES // 4, seed=19))
    producer.stop()
    run(topo, splitters=2)
    wait_for_exact_totals(topo)
    assert total(topo.summer, "invoker_errors_total", kind="state_rebuilt") == 6
    assert total(topo.summer, "invoker_errors_total", kind="state_diverged") == 0
