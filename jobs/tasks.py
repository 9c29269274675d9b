"""Celery tasks: reconcile one deployment, resync them all, and a worker probe."""

from __future__ import annotations

import logging
import os
import socket

from celery import shared_task
from celery.app.task import Task

from jobs.backends import get_backend
from jobs.coalesce import clear_pending, deployment_lock, mark_pending
from jobs.collector import collect, publish
from jobs.runs import run_reconcile
from topology_editor.models import Deployment

log = logging.getLogger(__name__)
#: A short pause lets a burst of saves (a drag, then another) land before the pass starts.
DEBOUNCE_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 60


def backoff_seconds(retries: int) -> int:
    """1, 2, 4, ... seconds, capped: an outage is retried quickly at first, then gently."""
    return min(2 ** min(retries, 16), MAX_BACKOFF_SECONDS)


def request_reconcile(name: str, reason: str) -> bool:
    """Queues one reconcile of ``name`` unless one is already waiting; True when it queued."""
    if not mark_pending(name):
        log.info("reconcile of %s already pending; coalesced (%s)", name, reason)
        return False
    reconcile_deployment.apply_async(args=[name, reason], countdown=DEBOUNCE_SECONDS)
    return True


@shared_task(bind=True, name="jobs.reconcile", max_retries=None, acks_late=True)
def reconcile_deployment(self: Task, name: str, reason: str = "") -> str:
    """One pass for ``name``; retryable failures back off exponentially, permanent ones are
    recorded on the deployment and not retried until the spec changes."""
    lock = deployment_lock(name)
    if not lock.acquire():
        raise self.retry(countdown=1)  # another pass runs; look again soon
    try:
        clear_pending(name)
        if not Deployment.objects.filter(name=name).exists():
            get_backend().delete_deployment(name)  # its root object owns everything else
            return "deleted"
        result = run_reconcile(name, get_backend(), trigger=reason or "request")
    finally:
        lock.release()
    if result.error and not result.permanent:
        raise self.retry(countdown=backoff_seconds(self.request.retries))
    if result.requeue_after:
        reconcile_deployment.apply_async(args=[name, "rollout in progress"], countdown=result.requeue_after)
    return result.result


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
