"""End to end while producing: scaling, moving partitions, kill -9 and a broker restart.

Each test keeps a producer writing text at a steady rate while it changes the deployment, and
then requires the totals to equal the exact word counts of everything the input topic holds.
"""

import pytest

from tests.executor.harness import (
    LineProducer,
    make_lines,
    rates_caught_up,
    reassign_and_wait,
    split,
    wait_for_exact_totals,
)
from tests.localpod import metric_sum

pytestmark = pytest.mark.slow
RATE = 3000  # lines per second, about 10,000 words per second


def start(topo, seed):
    topo.summer.assign(split(6, 1, "summer"))
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.start(make_lines(600_000, seed=seed), per_second=RATE)
    return producer


def finish(topo, producer):
    producer.stop()
    wait_for_exact_totals(topo)
    assert not [pod.name for pod in topo.pods() if pod.crashed()]


def test_scaling_1_2_3_6_and_back_keeps_totals_exact(topology):
    topo = topology()
    producer = start(topo, seed=2)
    try:
        for pods in (1, 2, 3, 6, 3, 2, 1):
            reassign_and_wait(topo.counter, split(6, pods, "splitter"))
        # Pods stopped on the way down (SIGTERM) committed and released before exiting, so
        # splitter-0 never had to fence anyone to take their partitions.
        forced = ("invoker_handoffs_total", (("how", "forced"),))
        assert topo.counter.pods["splitter-0"].metrics()[forced] == 0
    finally:
        finish(topo, producer)


def test_moving_partitions_moves_the_load_without_restarting_anything(topology):
    topo = topology()
    producer = start(topo, seed=3)
    try:
        reassign_and_wait(topo.counter, {"splitter-0": [0, 1, 2], "splitter-1": [3, 4, 5]})
        before = rates_caught_up(topo.counter, 3, records=RATE)
        pids = {name: pod.pids() for name, pod in topo.counter.pods.items()}
        reassign_and_wait(topo.counter, {"splitter-0": [0, 1, 2, 3, 4], "splitter-1": [5]})
        after = rates_caught_up(topo.counter, 3, records=RATE)
        print(f"records/s before {before}, after {after}")
        assert 0.6 < before["splitter-0"] / before["splitter-1"] < 1.6
        assert 3.5 < after["splitter-0"] / after["splitter-1"] < 7
        assert {name: pod.pids() for name, pod in topo.counter.pods.items()} == pids
        for pod in topo.counter.pods.values():
            samples = pod.metrics()
            assert metric_sum(samples, "invoker_process_restarts") == 0
        gained = topo.counter.pods["splitter-0"].metrics()
        # splitter-0 took 3 and 4 only after splitter-1 had committed and released them
        assert gained[("invoker_handoffs_total", (("how", "forced"),))] == 0
        count = gained[("invoker_reassignment_seconds_count", ())]
        print(
            f"config change -> first record of a gained partition: "
            f"{gained[('invoker_reassignment_seconds_sum', ())] / count:.3f}s on average over {count:.0f}"
        )
    finally:
        finish(topo, producer)


def test_kill_9_and_a_broker_restart_lose_nothing_and_count_nothing_twice(topology, private_kafka):
    topo = topology(bootstrap=private_kafka.bootstrap)  # its own broker: a live ./dev up uses the shared one
    producer = start(topo, seed=4)
    try:
        assignment = split(6, 3, "splitter")
        reassign_and_wait(topo.counter, assignment)
        for entity, name in ((topo.counter, "splitter-1"), (topo.summer, "summer-0")):
            entity.pods[name].kill()  # SIGKILL to all three containers, mid-stream
            entity.pods[name].start()  # what the kubelet (or the local runtime) does next
        reassign_and_wait(topo.counter, assignment)
        assert metric_sum(topo.counter.pods["splitter-1"].metrics(), "invoker_process_restarts") == 3
        udf_host = topo.counter.pods["splitter-0"]
        udf_host.processes["udf"].kill()  # only the user's container: the io sidecar must cope
        udf_host.start_container("udf")
        reassign_and_wait(topo.counter, assignment)
        private_kafka.stop()
        private_kafka.start()
        reassign_and_wait(topo.counter, assignment, timeout=120)
        reassign_and_wait(topo.summer, split(6, 1, "summer"), timeout=120)
    finally:
        finish(topo, producer)
