"""The second step of a drain: wait for the new owners to take over, then remove the pod.

``jobs.finish_drain`` reads each pod's ``invoker_partition_owned`` gauge through the backend's
metrics address (as the collector does) and calls
:func:`topology_editor.services.drain.finish_drain` once a second until the takeover is
complete, or gives up after ``TAKEOVER_TIMEOUT_SECONDS`` leaving the pod cordoned (audited).
"""

from __future__ import annotations

import logging
import time
import urllib.request

from celery import shared_task
from prometheus_client.parser import text_string_to_metric_families

from jobs.backends import get_backend
from orchestrator.planning.drain import pending_takeover
from orchestrator.planning.rebalance import Move
from orchestrator.reconciler.backend import Backend
from topology_editor.services.drain import TAKEOVER_TIMEOUT_SECONDS, finish_drain, give_up_drain

log = logging.getLogger(__name__)
SCRAPE_TIMEOUT_SECONDS = 1.0
POLL_SECONDS = 1.0


def owned_partitions(backend: Backend, name: str, entity: str) -> dict[str, dict[int, float]]:
    """Each running pod of ``entity``: its ``invoker_partition_owned`` gauge by partition. A pod
    whose endpoint does not answer is left out (it consumes nothing we can see)."""
    owned: dict[str, dict[int, float]] = {}
    for pod in backend.observe(name).pods:
        if pod.entity != entity or not pod.metrics_url or pod.phase != "Running":
            continue
        try:
            with urllib.request.urlopen(pod.metrics_url, timeout=SCRAPE_TIMEOUT_SECONDS) as response:
                text = response.read().decode()
        except OSError:
            continue
        gauges = owned.setdefault(pod.pod or pod.name, {})
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "invoker_partition_owned" and sample.labels.get("partition", "").isdigit():
                    gauges[int(sample.labels["partition"])] = sample.value
    return owned


@shared_task(name="jobs.finish_drain", ignore_result=True)
def finish_drain_task(
    name: str, entity: str, pod: str, moves: list[list[object]], action: str, started: float | None = None
) -> str:
    """Polls until the moves are taken over, then removes ``pod``; see the module docstring."""
    started = time.time() if started is None else started
    planned = [Move(int(str(p)), pod, str(to)) for p, to in moves]
    owned = owned_partitions(get_backend(), name, entity)
    outcome = finish_drain(name, entity, pod, planned, owned, action)
    if outcome != "waiting":
        log.info("drain of %s/%s/%s: %s", name, entity, pod, outcome)
        return outcome
    if time.time() - started > TAKEOVER_TIMEOUT_SECONDS:
        give_up_drain(name, entity, pod, pending_takeover(planned, owned))
        return "timeout"
    finish_drain_task.apply_async(args=[name, entity, pod, moves, action, started], countdown=POLL_SECONDS)
    return "waiting"
