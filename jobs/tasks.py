"""Celery tasks: reconcile one deployment, resync them all, and a worker probe."""

from __future__ import annotations

import logging
import os
import socket
import uuid

from celery import shared_task
from celery.app.task import Task
from celery.signals import worker_process_init

from jobs import coalesce
from jobs.backends import get_backend
from jobs.cleanup import remove_deployment
from jobs.collector import collect, publish
from jobs.runs import run_reconcile
from orchestrator.reconciler.reconcile import ReconcileResult
from topology_editor.models import Deployment

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60
#: How soon a task that found its deployment busy looks again. It only matters when the holder
#: died (its lock times out): otherwise the holder runs the pass this task asked for.
BUSY_RETRY_SECONDS = 1.0


@worker_process_init.connect
def warm_backend(**_: object) -> None:
    """A new worker process starts its backend's watch cache at once (in the background), so
    the first change after a worker restart does not wait for the initial lists."""
    try:
        getattr(get_backend(), "cache", None)
    except Exception:  # no cluster yet: the first pass will say why, with a retry
        log.warning("could not start the backend's watch cache", exc_info=True)


def backoff_seconds(retries: int) -> int:
    """1, 2, 4, ... seconds, capped: an outage is retried quickly at first, then gently."""
    return min(2 ** min(retries, 16), MAX_BACKOFF_SECONDS)


def request_reconcile(name: str, reason: str) -> bool:
    """Queues a reconcile of ``name`` at once, unless a pass is already queued or running (then
    this request folds into the one trailing pass that follows it); True when it queued."""
    if not coalesce.request(name):
        log.info("reconcile of %s already queued or running; folded into its next pass (%s)", name, reason)
        return False
    reconcile_deployment.apply_async(args=[name, reason])
    return True


@shared_task(bind=True, name="jobs.reconcile", max_retries=None, acks_late=True)
def reconcile_deployment(self: Task, name: str, reason: str = "", passes_seen: int | None = None) -> str:
    """Passes for ``name`` until no request is left: the first at once, then one trailing pass
    for everything that arrived meanwhile. Retryable failures back off exponentially; permanent
    ones are recorded on the deployment and not retried until the spec changes."""
    token = self.request.id or uuid.uuid4().hex
    begun = coalesce.begin(name, token, passes_seen)
    if begun.state == "served":
        return "coalesced"
    if not begun.started:  # another task runs passes for it and will run one more for this one
        raise self.retry(
            args=[name], kwargs={"reason": reason, "passes_seen": begun.count}, countdown=BUSY_RETRY_SECONDS
        )
    try:
        outcome, result = _passes(name, reason or "request", token)
    except BaseException:
        coalesce.release(name, token)
        raise
    if result is not None and result.error and not result.permanent:
        coalesce.release(name, token, again=True)  # requests until the retry fold into it
        raise self.retry(
            args=[name], kwargs={"reason": reason}, countdown=backoff_seconds(self.request.retries)
        )
    if result is not None and result.requeue_after:
        reconcile_deployment.apply_async(args=[name, "rollout in progress"], countdown=result.requeue_after)
    return outcome


def _passes(name: str, trigger: str, token: str) -> tuple[str, ReconcileResult | None]:
    """Runs a pass, then one more while requests arrived during the last; returns with the lock
    released, except after a retryable failure (the caller releases it and retries)."""
    while True:
        result = _one_pass(name, trigger)
        if result is not None and result.error and not result.permanent:
            return result.result, result
        folded = coalesce.finish(name, token)
        if folded <= 0:
            return ("deleted" if result is None else result.result), result
        trigger = f"{folded} change(s) made during the previous pass"


def _one_pass(name: str, trigger: str) -> ReconcileResult | None:
    """One reconcile; None when the deployment is gone and its objects were deleted instead."""
    if not Deployment.objects.filter(name=name).exists():
        remove_deployment(name, get_backend())  # its objects (the root owns them), then its pods' data
        return None
    return run_reconcile(name, get_backend(), trigger=trigger)


@shared_task(name="jobs.resync_all")
def resync_all() -> int:
    """The periodic pass that repairs drift: every deployment is reconciled again."""
    names = list(Deployment.objects.values_list("name", flat=True))
    for name in names:
        request_reconcile(name, "periodic resync")
    return len(names)


@shared_task(name="jobs.collect_metrics", ignore_result=True, expires=10)
def collect_metrics() -> int:
    """Publishes one metrics message per deployment to its websocket group."""
    deployments = list(Deployment.objects.all())
    for deployment in deployments:
        publish(collect(deployment, get_backend()))
    return len(deployments)


@shared_task(name="jobs.ping")
def ping(token: str) -> dict[str, object]:
    """Echoes a token with the worker's identity: the worker-health probe used by tests."""
    return {"token": token, "hostname": socket.gethostname(), "pid": os.getpid()}
