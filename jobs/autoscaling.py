"""``jobs.autoscale``, run by beat every ``INVOKER_AUTOSCALE_SECONDS``: evaluates every
autoscaling policy against the collector's samples, keeps the recommendation, and applies it
(trigger ``autoscaler``) where the policy's ``auto`` is on and the deployment's automation is
enabled and not paused (a rollback or a manual change pauses it, see
``topology_editor.services.automation``)."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from kafka.errors import KafkaError

from orchestrator import SpecError
from orchestrator.planning.autoscale import Sample
from orchestrator.reconciler.backlog import entity_progress, group_id
from topology_editor.models import AutoscalePolicy, Interface
from topology_editor.services.autoscale import apply_recommendation, evaluate, record_progress
from topology_editor.services.errors import ServiceError
from topology_editor.spec_rows import spec_from_rows

log = logging.getLogger(__name__)


@shared_task(name="jobs.autoscale", ignore_result=True, expires=30)
def autoscale_all() -> int:
    """Evaluates every policy; returns how many changes it made."""
    now, applied = time.time(), 0
    for row in AutoscalePolicy.objects.select_related("deployment").order_by("id"):
        try:
            applied += _autoscale_one(row, now)
        except Exception:  # one entity's failure (a store or broker away) must not stop the others
            log.exception("autoscaler: evaluating %s/%s failed", row.deployment.name, row.entity)
    return applied


def _autoscale_one(row: AutoscalePolicy, now: float) -> int:
    """Samples, decides and (where allowed) acts for one policy; 1 when it changed the spec."""
    sample_progress(row, now)
    decision = evaluate(row, now)
    if decision is None or decision.change == 0 or not _may_act(row):
        return 0
    name = row.deployment.name
    try:
        apply_recommendation(
            name, row.entity, decision.pods, action="autoscaler", actor=None, interface=Interface.SYSTEM
        )
    except (ServiceError, SpecError) as error:
        log.warning("autoscaler could not scale %s/%s to %d: %s", name, row.entity, decision.pods, error)
        return 0
    change = f"{decision.current} -> {decision.pods}"
    log.info("autoscaler: %s/%s %s (%s)", name, row.entity, change, decision.rule)
    return 1


def sample_progress(row: AutoscalePolicy, now: float) -> None:
    """Records the entity's committed records and backlog from its broker; a broker that does
    not answer leaves the collector's samples as the evidence."""
    entity = spec_from_rows(row.deployment).entity(row.entity)
    if entity is None:
        return
    name = row.deployment.name
    try:
        progress = entity_progress(entity.io_address, entity.input_topic, group_id(name, row.entity))
    except (KafkaError, OSError) as error:
        log.warning("autoscaler: no backlog of %s/%s from %s: %s", name, row.entity, entity.io_address, error)
        return
    record_progress(name, row.entity, Sample(now, progress.backlog, progress.processed))


def _may_act(row: AutoscalePolicy) -> bool:
    deployment = row.deployment
    return row.auto and deployment.automation_enabled and deployment.automation_paused_since is None
