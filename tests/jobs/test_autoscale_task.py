"""jobs.autoscale against the real database and the real Redis the collector writes to: lag
that keeps growing makes a recommendation appear; with auto mode on and automation running the
entity scales out as one revision with the trigger ``autoscaler``; a paused automation or a
policy without auto only recommends."""

import time

import pytest
import redis
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from jobs import autoscaling
from jobs.autoscaling import autoscale_all
from topology_editor import partition_rates, services
from topology_editor.models import AuditEntry, AutoscalePolicy, Interface
from topology_editor.services.automation_switch import set_automation
from topology_editor.services.autoscale import clear_progress, set_policy
from topology_editor.spec_rows import spec_from_rows

NAME = "word-count-demo"
POLICY = {"min_pods": 1, "max_pods": 4, "target_records_per_pod": 1000, "scale_out_after_seconds": 20}


@pytest.fixture
def lagging(deployment):
    """Collections of ``totals`` 5 s apart: 1500 records/s in, the lag growing 100/s for 30 s.
    (The broker has no progress of it to report: the collector's samples are the evidence.)"""
    clear_progress(NAME, "totals")
    partition_rates.clear(NAME)
    for i in range(7):
        counters = {str(p): [250.0 * 5 * i, 0.0, 100.0 * 5 * i / 6] for p in range(6)}
        partition_rates.record(NAME, {"totals": counters}, 1000.0 + 5 * i)
    yield deployment
    partition_rates.clear(NAME)
    clear_progress(NAME, "totals")


def totals_pods(deployment) -> dict[str, tuple[int, ...]]:
    return {pod.name: pod.partitions for pod in spec_from_rows(deployment).entity("totals").pods}


def test_growing_lag_scales_out_in_auto_mode_as_one_autoscaler_revision(lagging):
    set_policy(NAME, "totals", {**POLICY, "auto": True}, actor=None, interface=Interface.CLI)
    set_automation(NAME, True, actor=None, interface=Interface.CLI)
    revisions = lagging.revisions.count()

    assert autoscale_all() == 1

    assert totals_pods(lagging) == {"totals-0": (0, 1, 2), "totals-1": (3, 4, 5)}
    assert lagging.revisions.count() == revisions + 1
    entry = AuditEntry.objects.filter(action="autoscaler").get()
    assert entry.summary == "scaled totals out from 1 to 2 pod(s) (totals-1): 3 partition(s) moved"
    policy = AutoscalePolicy.objects.get()
    assert policy.recommendation["rule"] == "lag_growing"
    assert "lag grew for 30 s" in policy.recommendation["reason"]
    assert len(policy.recommendation["samples"]) == 7
    lagging.refresh_from_db()
    assert lagging.automation_paused_since is None  # its own change does not pause it
    assert autoscale_all() == 0  # the cooldown holds the next evaluation


def test_one_policy_that_fails_to_evaluate_does_not_stop_the_others(lagging, monkeypatch):
    set_policy(NAME, "splitter", POLICY, actor=None, interface=Interface.CLI)  # evaluated first
    set_policy(NAME, "totals", {**POLICY, "auto": True}, actor=None, interface=Interface.CLI)
    set_automation(NAME, True, actor=None, interface=Interface.CLI)
    sample = autoscaling.sample_progress

    def splitter_store_away(row, now):
        if row.entity == "splitter":
            raise redis.ConnectionError("the store of splitter's samples is away")
        return sample(row, now)

    monkeypatch.setattr(autoscaling, "sample_progress", splitter_store_away)
    assert autoscale_all() == 1
    assert totals_pods(lagging) == {"totals-0": (0, 1, 2), "totals-1": (3, 4, 5)}


@pytest.mark.parametrize("paused", [True, False])
def test_without_auto_or_with_automation_paused_it_only_recommends(lagging, paused):
    set_policy(NAME, "totals", {**POLICY, "auto": paused}, actor=None, interface=Interface.CLI)
    set_automation(NAME, True, actor=None, interface=Interface.CLI)
    if paused:  # a manual change pauses automation
        services.add_pod(NAME, "totals", {"name": "totals-9"}, actor=None, interface=Interface.CLI)
        lagging.refresh_from_db()
        assert lagging.automation_paused_since is not None
    before = totals_pods(lagging)

    assert autoscale_all() == 0

    assert totals_pods(lagging) == before
    recommendation = AutoscalePolicy.objects.get().recommendation
    assert recommendation["rule"] == "lag_growing"
    assert recommendation["pods"] == len(before) + 1
    assert not AuditEntry.objects.filter(action="autoscaler").exists()


def test_a_backlog_growing_on_the_real_broker_scales_out(deployment, kafka_bootstrap, suffix):
    """The evidence from the broker itself: records written to the entity's input topic that
    nobody commits are a backlog that grows at every evaluation."""
    topic = f"autoscale-{suffix}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 6, 1)])
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    clear_progress(NAME, "totals")
    try:
        patch = {"inputTopic": topic, "ioAddress": kafka_bootstrap}
        services.update_entity(NAME, "totals", patch, merge=True, actor=None, interface=Interface.CLI)
        policy = {**POLICY, "scale_out_after_seconds": 2, "auto": True}
        set_policy(NAME, "totals", policy, actor=None, interface=Interface.CLI)
        set_automation(NAME, True, actor=None, interface=Interface.CLI)
        for step in range(4):
            for i in range(600):
                producer.send(topic, f"line {step} {i}".encode(), partition=i % 6)
            producer.flush()
            scaled = autoscale_all()
            if scaled:
                break
            time.sleep(1.0)  # the samples must span scale_out_after_seconds
        recommendation = AutoscalePolicy.objects.get().recommendation
        assert scaled == 1, recommendation
        assert recommendation["source"] == "broker"
        assert [s[1] for s in recommendation["samples"]] == [600.0 * (k + 1) for k in range(step + 1)]
        assert len(totals_pods(deployment)) == 2
    finally:
        producer.close()
        admin.delete_topics([topic])
        admin.close()
        clear_progress(NAME, "totals")
