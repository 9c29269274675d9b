"""End to end on the real broker: a step in the input rate makes the autoscaler's decision
(``orchestrator.autoscale.decide``) recommend more pods, and applying it (new pods plus the
fewest partition moves, ``orchestrator.rebalance.plan_rebalance``) makes the pod count follow
while the totals stay exact (issue 16, item 2).

The samples are the entity's records consumed (the pods' own counters, as the collector reads
them) and its backlog (the broker's end offsets minus the committed ones), every
``SAMPLE_SECONDS``. The word-count pods
are capped at about 1000 lines/s each (``tests/executor/slow_udf.py``), so the step from 300 to
1600 lines/s outgrows one pod on any machine. Prints the reaction time: the step to the first
scale-out applied.
"""

import itertools
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from orchestrator.autoscale import SCALE_OUT, Policy, Sample, decide
from orchestrator.rebalance import plan_rebalance
from tests.executor.harness import LineProducer, make_lines, reassign_and_wait, split, wait_for_exact_totals
from tests.localpod import LocalEntity, metric_sum

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


class Backlog:
    """The input's end offsets minus the entity's committed offsets, from the broker: the records
    not yet processed. (The pods' ``invoker_consumer_lag`` counts from the fetch position, which
    runs ahead of processing by the client's buffer, so it stays near 0 while a slow pod falls
    behind.)"""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        self.group = group
        self.partitions = [TopicPartition(topic, p) for p in range(6)]
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap)

    def __call__(self) -> float:
        ends = self.consumer.end_offsets(self.partitions)
        committed = self.admin.list_group_offsets(self.group).get(self.group, {})
        return float(sum(ends[tp] - max(0, committed[tp].offset if tp in committed else 0) for tp in ends))

    def close(self) -> None:
        self.admin.close()
        self.consumer.close()


def sample(entity: LocalEntity, backlog: Backlog) -> Sample:
    """The entity's records consumed (all pods, the collector's counter) and its backlog."""
    records = sum(metric_sum(pod.metrics(), "invoker_records_in_total") for pod in entity.pods.values())
    return Sample(time.monotonic(), backlog(), records)


def run_autoscaler(entity, backlog, assignment, until: float, log: list[str]) -> tuple[dict, list[float]]:
    """Samples, decides and applies scale-outs until ``until``; returns the final assignment and
    the times each scale-out was applied."""
    samples: list[Sample] = []
    applied: list[float] = []
    while time.monotonic() < until:
        samples = [*samples, sample(entity, backlog)][-13:]
        log.append(f"  t={samples[-1].time:.1f} lag={samples[-1].lag:.0f} records={samples[-1].records:.0f}")
        last = applied[-1] if applied else None
        decision = decide(POLICY, len(assignment), samples, samples[-1].time, last)
        if decision.rule == SCALE_OUT and decision.pods > len(assignment):
            grown = {**assignment, **{f"splitter-{i}": [] for i in range(len(assignment), decision.pods)}}
            assignment = plan_rebalance(grown, range(6)).assignment
            entity.assign(assignment)
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
    backlog = Backlog(topo.bootstrap, topo.lines_topic, f"invoker.{topo.name}.word-count")
    try:
        reassign_and_wait(topo.counter, assignment)
        assignment, early = run_autoscaler(topo.counter, backlog, assignment, time.monotonic() + 8, log)
        assert early == [], f"scaled out before the step: {log}"
    finally:
        low.stop()
    high = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS)
    step = time.monotonic()
    high.start(make_lines(HIGH * 40, seed=12), per_second=HIGH)
    try:
        assignment, applied = run_autoscaler(topo.counter, backlog, assignment, step + 40, log)
    finally:
        high.stop()
        backlog.close()
    print("autoscaler:", *log, sep="\n  ")
    assert applied, f"no scale-out after the step to {HIGH} lines/s: {log}"
    print(f"reaction time, step to first scale-out applied: {applied[0] - step:.1f} s")
    assert len(assignment) >= 2
    assert sorted(p for ps in assignment.values() for p in ps) == list(range(6))
    for left, right in itertools.pairwise(applied):
        assert right - left >= POLICY.cooldown_seconds
    wait_for_exact_totals(topo, timeout=180)
    assert not [pod.name for pod in topo.pods() if pod.crashed()]
