"""SIGTERM: the pod commits its last batch, releases its partitions and exits cleanly."""

import pytest
from kafka import KafkaConsumer, TopicPartition

from executor.state_store import StateStore, namespace
from tests.executor.harness import LineProducer, make_lines, reassign_and_wait

pytestmark = pytest.mark.slow


def test_sigterm_commits_and_releases_everything(topology, redis_url):
    topo = topology()
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.start(make_lines(200_000, seed=5), per_second=3000)
    try:
        reassign_and_wait(topo.counter, {"splitter-0": list(range(6))})
        pod = topo.counter.pods["splitter-0"]
        pod.stop(timeout=30)  # mid-stream
    finally:
        producer.stop()
    assert {c: p.returncode for c, p in pod.processes.items()} == {"state": 0, "udf": 0, "io": 0}

    main = topo.counter.main
    store = StateStore(redis_url, namespace(main["deployment"], main["entity"], main["inputTopic"]))
    consumer = KafkaConsumer(
        bootstrap_servers=topo.bootstrap,
        group_id=f"invoker.{main['deployment']}.word-count",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    try:
        for p in range(6):
            meta = store.meta(p)
            assert meta["released"] == "1"
            assert "pending_offset" not in meta  # nothing was left half-committed
            assert int(meta["offset"]) == consumer.committed(TopicPartition(topo.lines_topic, p)) > 0
    finally:
        consumer.close()
        store.close()
