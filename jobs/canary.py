"""Promoting a canary one pod at a time (issue 16, item 5).

``jobs.promote_canary`` polls the backend once a second until the pod promoted last runs the
canary image rolled out (:func:`rolled_out`, the test ``kubectl rollout status`` makes: the
workload's UDF container has the image, the controller saw its generation, its one replica is
updated and ready), then makes the next step through
:func:`topology_editor.services.canary.promote_canary`, which queues this task again for the pod
it promoted. A canary aborted (or replaced) meanwhile ends the chain; a pod that does not roll
out within ``STEP_TIMEOUT_SECONDS`` stops it, audited, leaving the canary as it is.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task

from jobs.backends import get_backend
from orchestrator import SpecError
from orchestrator.reconciler.convert import CONTAINER_UDF, workload_name
from topology_editor.models import Interface
from topology_editor.services.canary import STEP_TIMEOUT_SECONDS, promote_canary, stop_promotion
from topology_editor.services.errors import ServiceError

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


def rolled_out(workload: dict[str, Any] | None, image: str) -> bool:
    """Whether ``workload`` (an observed ``apps/v1`` Deployment) runs ``image`` in its UDF
    container, seen by its controller, with its one replica updated and ready."""
    if workload is None:
        return False
    containers = workload.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    udf = next((c for c in containers if c.get("name") == CONTAINER_UDF), {})
    status = workload.get("status") or {}
    generation = workload.get("metadata", {}).get("generation")
    seen = generation is None or status.get("observedGeneration", 0) >= generation
    replicas = workload.get("spec", {}).get("replicas", 1)
    updated = status.get("updatedReplicas") == replicas and status.get("readyReplicas") == replicas
    return udf.get("image") == image and seen and updated


@shared_task(name="jobs.promote_canary", ignore_result=True)
def promote_canary_task(name: str, entity: str, pod: str, image: str, started: float | None = None) -> str:
    """Waits for ``pod`` to run ``image`` rolled out, then promotes the next pod; see the module."""
    started = time.time() if started is None else started
    workload = get_backend().observe(name).get("Deployment", workload_name(name, pod))
    if not rolled_out(workload, image):
        if time.time() - started > STEP_TIMEOUT_SECONDS:
            stop_promotion(name, entity, pod)
            return "timeout"
        promote_canary_task.apply_async(args=[name, entity, pod, image, started], countdown=POLL_SECONDS)
        return "waiting"
    try:
        step = promote_canary(name, entity, actor=None, interface=Interface.SYSTEM, expected_image=image)
    except (ServiceError, SpecError) as error:
        log.info("promotion of the canary on %s/%s ended: %s", name, entity, error)
        return "stopped"
    return f"promoted {step.promoted}" if step.promoted else "done"
