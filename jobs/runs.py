"""One reconcile of one deployment, as the control plane runs it: resolve the desired state
from the database, run the orchestrator's pass, record the run and the status.

Celery tasks, the `reconcile` management command and tests all call `run_reconcile`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from orchestrator.reconciler.backend import Backend
from orchestrator.reconciler.reconcile import ReconcileResult, Target, reconcile
from topology_editor.models import Deployment, ReconcileRun, Revision
from topology_editor.spec_rows import spec_from_rows

log = logging.getLogger(__name__)
RESULTS = {"changed": "success", "noop": "noop", "error": "error", "failed": "error"}


def target_for(deployment: Deployment) -> Target:
    """The desired spec and the revision it is recorded as (the newest revision)."""
    revision = deployment.revisions.order_by("-number").first()
    if revision is None:
        raise Revision.DoesNotExist(f"deployment {deployment.name} has no revision yet")
    return Target(
        spec_from_rows(deployment),
        revision.name,
        revision.number,
        settings.INVOKER_STATE_REDIS_URL,
        manage_topics=True,  # the entities' topics are reconciled resources (orchestrator.reconciler.topics)
    )


def run_reconcile(name: str, backend: Backend, trigger: str, dry_run: bool = False) -> ReconcileResult:
    deployment = Deployment.objects.get(name=name)
    target = target_for(deployment)
    started = timezone.now()
    result = reconcile(target, backend, dry_run=dry_run)
    if not dry_run:
        record_run(deployment, result, trigger, started)
        record_status(deployment, result)
    log.info("reconciled %s: %s, %d writes, %.0f ms", name, result.result, result.writes, result.duration_ms)
    return result


def record_run(
    deployment: Deployment, result: ReconcileResult, trigger: str, started: datetime
) -> ReconcileRun:
    return ReconcileRun.objects.create(
        deployment=deployment,
        revision=result.revision,
        trigger=trigger[:200],
        started_at=started,
        finished_at=timezone.now(),
        duration_ms=round(result.duration_ms),
        result=RESULTS[result.result],
        api_calls=result.reads + result.writes,
        api_writes=result.writes,
        error=result.error or "",
    )


def record_status(deployment: Deployment, result: ReconcileResult) -> None:
    """Writes the derived status to the row; a failed pass keeps the revision that runs."""
    status = result.status
    condition = next(iter(status.get("conditions") or []), {})
    fields = {
        "state": status.get("state", deployment.state),
        "next_revision": status.get("nextRevision") or "",
        "components": status.get("components", {}),
        "conditions": status.get("conditions", []),
        "status_message": condition.get("message", ""),
        "last_error": result.error or "",
        "last_update_time": timezone.now(),
    }
    if status.get("currentRevision"):
        fields["current_revision"] = status["currentRevision"]
    Deployment.objects.filter(pk=deployment.pk).update(**fields)
