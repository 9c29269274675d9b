"""End to end on the real broker: draining a pod while producing (issue 16, item 3).

The drain is the planner's two steps (``orchestrator.planning.drain``): first the assignment in which
the drained pod owns nothing, with the pod still running so it commits and releases each
partition; then, once :func:`pending_takeover` finds every moved partition consumed by its new
owner, the assignment without the pod (its process stops). The totals must stay exact, no
partition may be taken by force (fencing), the other pods must not restart, and the processing
gap of each moved partition (the old owner's last record to the new owner's first) is printed.
"""

import time

import pytest

from orchestrator.planning.drain import pending_takeover, plan_drain
from tests.executor.harness import (
    LineProducer,
    make_lines,
    reassign_and_wait,
    split,
    wait_for_exact_totals,
)
from tests.localpod import LocalEntity, metric_sum

pytestmark = pytest.mark.slow
RATE = 3000  # lines per second
POLL_SECONDS = 0.05


def per_partition(entity: LocalEntity, metric: str) -> dict[str, dict[int, float]]:
    """``metric`` of each running pod by partition (a pod whose endpoint is down is left out)."""
    seen: dict[str, dict[int, float]] = {}
    for name, pod in entity.pods.items():
        try:
            samples = pod.metrics()
        except OSError:
            continue
        seen[name] = {int(dict(labels)["partition"]): v for (m, labels), v in samples.items() if m == metric}
    return seen


def watch_handover(entity: LocalEntity, moves, timeout: float = 60) -> dict[int, float]:
    """Polls every pod until each moved partition is consumed by its new owner; returns each
    partition's gap: the last time its old owner's count rose to the first time the new one's did."""
    last_old: dict[int, float] = {}
    first_new: dict[int, float] = {}
    previous = per_partition(entity, "invoker_records_in_total")
    deadline = time.monotonic() + timeout
    while True:
        now = time.monotonic()
        counts = per_partition(entity, "invoker_records_in_total")
        for move in moves:
            p = move.partition
            old = counts.get(move.from_pod, {}).get(p, 0.0)
            if old > previous.get(move.from_pod, {}).get(p, 0.0):
                last_old[p] = now
            new = counts.get(move.to_pod, {}).get(p, 0.0)
            if p not in first_new and new > previous.get(move.to_pod, {}).get(p, 0.0):
                first_new[p] = now
        previous = counts
        owned = per_partition(entity, "invoker_partition_owned")
        if not pending_takeover(moves, owned) and len(first_new) == len(moves):
            return {p: first_new[p] - last_old.get(p, first_new[p]) for p in sorted(first_new)}
        if now > deadline:
            pytest.fail(f"moves not taken over in {timeout}s: {pending_takeover(moves, owned)}")
        time.sleep(POLL_SECONDS)


def test_draining_a_pod_hands_over_its_partitions_before_it_goes_and_keeps_totals_exact(topology):
    topo = topology()
    topo.summer.assign(split(6, 1, "summer"))
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    producer.start(make_lines(300_000, seed=7), per_second=RATE)
    try:
        reassign_and_wait(topo.counter, split(6, 3, "splitter"))
        plan = plan_drain(split(6, 3, "splitter"), "splitter-2")
        assert [m.partition for m in plan.moves] == [2, 5]
        pids = {name: pod.pids() for name, pod in topo.counter.pods.items() if name != "splitter-2"}
        topo.counter.assign(plan.assignment)  # step 1: splitter-2 runs on, owning nothing
        gaps = watch_handover(topo.counter, plan.moves)
        print("processing gap per moved partition (s):", {p: round(g, 3) for p, g in gaps.items()})
        drained = topo.counter.pods["splitter-2"].metrics()
        assert not [k for k, v in drained.items() if k[0] == "invoker_partition_owned" and v == 1]
        final = {name: ps for name, ps in plan.assignment.items() if name != "splitter-2"}
        topo.counter.assign(final)  # step 2: only now does its workload go
        assert "splitter-2" not in topo.counter.pods
        for name, pod in topo.counter.pods.items():
            assert pod.pids() == pids[name], f"{name} restarted"
            samples = pod.metrics()
            assert metric_sum(samples, "invoker_process_restarts") == 0
            assert samples.get(("invoker_handoffs_total", (("how", "forced"),)), 0) == 0, name
        assert max(gaps.values()) < 10
    finally:
        producer.stop()
    wait_for_exact_totals(topo)
    assert not [pod.name for pod in topo.pods() if pod.crashed()]
