"""End to end on the real broker: a step in the input rate makes the autoscaler's decision
(``orchestrator.planning.autoscale.decide``) recommend more pods, and applying it (new pods plus the
fewest partition moves, ``orchestrator.planning.rebalance.plan_rebalance``) makes the pod count follow
while the totals stay exact (issue 16, item 2).

The samples are what ``jobs.autoscale`` reads (``orchestrator.reconciler.backlog``): the entity's committed
records and its backlog (the broker's end offsets minus the committed ones), every
``SAMPLE_SECONDS``. (The pods' ``invoker_consumer_lag`` gauge stayed at 0 here while the backlog
grew: it counts from the fetch position, ahead of processing by the client's buffer.) The word-count pods
are capped at about 1000 lines/s each (``tests/executor/slow_udf.py``), so the step from 300 to
1600 lines/s outgrows one pod on any machine. Prints the reaction time: the step to the first
scale-out applied.
"""

import itertools
import time

import pytest

from orchestrator.planning.autoscale import SCALE_OUT, Policy, Sample, decide
from orchestrator.planning.rebalance import plan_rebalance
from orchestrator.reconciler.backlog import entity_progress, group_id
from tests.executor.harness import LineProducer, make_lines, reassign_and_wait, split, wait_for_exact_totals

pytestmark = pytest.mark.slow
SAMPLE_SECONDS = 2.0
LOW, HIGH = 300, 1600  # lines per second before and after the step
POLICY = Policy(
    min_pods=1,
    max_pods=3,
    target_records_per_pod=800,
    scale_out_after_seconds=6,
    utilisation_floor=0.2,
    scale_in_after_seconds=600,
    cooldown_seconds=15,
    max_step=1,
)


def sample(topo) -> Sample:
    """What ``jobs.autoscale`` samples: the entity's committed records and its backlog, from the
    broker (``orchestrator.reconciler.backlog``)."""
    progress = entity_progress(topo.bootstrap, topo.lines_topic, group_id(topo.name, "word-count"))
    return Sample(time.monotonic(), progress.backlog, progress.processed)


def run_autoscaler(topo, assignment, until: float, log: list[str]) -> tuple[dict, list[float]]:
    """Samples, decides and applies scale-outs until ``until``; returns the final assignment and
    the times each scale-out was applied."""
    samples: list[Sample] = []
    applied: list[float] = []
    while time.monotonic() < until:
        samples = [*samples, sample(topo)][-13:]
        log.append(f"  t={samples[-1].time:.1f} lag={samples[-1].lag:.0f} records={samples[-1].records:.0f}")
        last = applied[-1] if applied else None
        decision = decide(POLICY, len(assignment), samples, samples[-1].time, last)
        if decision.rule == SCALE_OUT and decision.pods > len(assignment):
            grown = {**assignment, **{f"splitter-{i}": [] for i in range(len(assignment), decision.pods)}}
            assignment = plan_rebalance(grown, range(6)).assignment
            topo.counter.assign(assignment)
            applied.append(time.monotonic())
            log.append(f"{decision.current} -> {decision.pods}: {decision.reason}")
        time.sleep(SAMPLE_SECONDS)
    return assignment, applied


def test_a_step_in_input_rate_scales_the_entity_out_and_keeps_totals_exact(topology):
    topo = topology(counter_udf="tests.executor.slow_udf:udf")
    topo.summer.assign(split(6, 1, "summer"))
    assignment = split(6, 1, "splitter")
    low = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    low.start(make_lines(LOW * 10, seed=11), per_second=LOW)
    log: list[str] = []
    try:
        reassign_and_wait(topo.counter, assignment)
        assignment, early = run_autoscaler(topo, assignment, time.monotonic() + 8, log)
        assert early == [], f"scaled out before the step: {log}"
    finally:
        low.stop()
    high = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    step = time.monotonic()
    high.start(make_lines(HIGH * 40, seed=12), per_second=HIGH)
    try:
        assignment, applied = run_autoscaler(topo, assignment, step + 40, log)
    finally:
        high.stop()
    print("autoscaler:", *log, sep="\n  ")
    assert applied, f"no scale-out after the step to {HIGH} lines/s: {log}"
    print(f"reaction time, step to first scale-out applied: {applied[0] - step:.1f} s")
    assert len(assignment) >= 2
    assert sorted(p for ps in assignment.values() for p in ps) == list(range(6))
    for left, right in itertools.pairwise(applied):
        assert right - left >= POLICY.cooldown_seconds
    wait_for_exact_totals(topo, timeout=180)
    assert not [pod.name for pod in topo.pods() if pod.crashed()]
