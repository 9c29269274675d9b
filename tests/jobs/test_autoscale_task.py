"""jobs.autoscale against the real database and the real Redis the collector writes to: lag
that keeps growing makes a recommendation appear; with auto mode on and automation running the
entity scales out as one revision with the trigger ``autoscaler``; a paused automation or a
policy without auto only recommends."""

import pytest

from jobs.autoscaling import autoscale_all
from topology_editor import partition_rates
from topology_editor.models import AuditEntry, AutoscalePolicy, Interface
from topology_editor.services.automation_switch import set_automation
from topology_editor.services.autoscale import set_policy
from topology_editor.spec_rows import spec_from_rows

NAME = "word-count-demo"
POLICY = {"min_pods": 1, "max_pods": 4, "target_records_per_pod": 1000, "scale_out_after_seconds": 20}


@pytest.fixture
def lagging(deployment):
    """Collections of ``totals`` 5 s apart: 1500 records/s in, the lag growing 100/s for 30 s."""
    partition_rates.clear(NAME)
    for i in range(7):
        counters = {str(p): [250.0 * 5 * i, 0.0, 100.0 * 5 * i / 6] for p in range(6)}
        partition_rates.record(NAME, {"totals": counters}, 1000.0 + 5 * i)
    yield deployment
    partition_rates.clear(NAME)


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


@pytest.mark.parametrize("paused", [True, False])
def test_without_auto_or_with_automation_paused_it_only_recommends(lagging, paused):
    set_policy(NAME, "totals", {**POLICY, "auto": paused}, actor=None, interface=Interface.CLI)
    set_automation(NAME, True, actor=None, interface=Interface.CLI)
    if paused:  # a manual change pauses automation
        from topology_editor import services

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
