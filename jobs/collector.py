"""The metrics collector: one message per deployment per interval, pushed to its Channels group.

It gathers the pods and their phases from the backend, each pod's Prometheus endpoint, and the
reconcile runs from the database. Rates need the previous sample; it is kept in Redis, not in
the process, because successive collections may run in different worker processes.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections import defaultdict
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from prometheus_client.parser import text_string_to_metric_families

from jobs.coalesce import redis_client
from orchestrator.reconciler import health
from orchestrator.reconciler.backend import Backend, PodState
from topology_editor import metrics_history, partition_rates, reconcile_metrics
from topology_editor.groups import metrics_group
from topology_editor.models import Deployment

log = logging.getLogger(__name__)

SCRAPE_TIMEOUT_SECONDS = 1.0
TOTALS = {
    "invoker_records_in_total": "recordsIn",
    "invoker_bytes_in_total": "bytesIn",
    "invoker_records_out_total": "recordsOut",
    "invoker_bytes_out_total": "bytesOut",
    # Records the UDF kept raising on (issue 17): per pod here, per entity in the status.
    "invoker_dead_letters_total": "deadLetters",
    # A canary's pods compared with the rest (issue 16): errors, and UDF latency as seconds per call.
    "invoker_errors_total": "errors",
    "invoker_udf_latency_seconds_sum": "udfSeconds",
    "invoker_udf_latency_seconds_count": "udfCalls",
}

#: The input counters kept per partition, and their place in ``partitions`` ([records, bytes]).
PER_PARTITION = {"invoker_records_in_total": 0, "invoker_bytes_in_total": 1}


def scrape(url: str) -> dict[str, Any]:
    """Totals over partitions of one pod's counters, and its lag per partition."""
    with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_SECONDS) as response:
        text = response.read().decode()
    totals: dict[str, Any] = dict.fromkeys(TOTALS.values(), 0.0)
    totals["lag"] = {}
    totals["partitions"] = {}  # {partition: [records in, bytes in]}: load-aware rebalance
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in TOTALS:
                totals[TOTALS[sample.name]] += sample.value
                if sample.name in PER_PARTITION:
                    counts = totals["partitions"].setdefault(sample.labels.get("partition", "?"), [0.0, 0.0])
                    counts[PER_PARTITION[sample.name]] += sample.value
            elif sample.name == "invoker_consumer_lag":
                totals["lag"][sample.labels.get("partition", "?")] = sample.value
    return totals


def pod_sample(pod: PodState) -> dict[str, Any]:
    sample: dict[str, Any] = {
        "name": pod.pod or pod.name,
        "entity": pod.entity,
        "phase": pod.phase,
        "ready": pod.ready,
        "restarts": pod.restarts,
        "reason": pod.reason,
        "message": pod.message,
    }
    if pod.metrics_url and pod.phase == "Running":
        try:
            sample.update(scrape(pod.metrics_url))
        except OSError as exc:
            sample["scrapeError"] = str(exc)
    return sample


def with_rates(name: str, pods: list[dict[str, Any]], now: float) -> None:
    """Adds per-second rates against the previous collection of the same deployment."""
    key = f"invoker:collector:last:{name}"
    previous = json.loads(redis_client().get(key) or "{}")
    elapsed = now - previous.get("time", now)
    for pod in pods:
        before = previous.get("pods", {}).get(pod["name"], {})
        for field in TOTALS.values():
            if field in pod and field in before and elapsed > 0:
                pod[f"{field}PerSec"] = max(0.0, (pod[field] - before[field]) / elapsed)
    snapshot = {"time": now, "pods": {p["name"]: {f: p[f] for f in TOTALS.values() if f in p} for p in pods}}
    redis_client().set(key, json.dumps(snapshot), ex=600)


def status_of(deployment: Deployment) -> dict[str, Any]:
    runs = deployment.reconcile_runs.exclude(result="running").order_by("-started_at")
    last = runs.first()
    return {
        "state": deployment.state,
        "currentRevision": deployment.current_revision,
        "nextRevision": deployment.next_revision,
        "message": deployment.status_message,
        "lastError": deployment.last_error,
        "conditions": deployment.conditions,  # camelCase like the custom resource's status
        "automation": {
            "enabled": deployment.automation_enabled,
            "pausedSince": deployment.automation_paused_since.isoformat()
            if deployment.automation_paused_since
            else None,
            "pausedReason": deployment.automation_paused_reason,
        },
        "reconcileCount": runs.count(),
        "lastReconcile": None
        if last is None
        else {
            "result": last.result,
            "durationMs": last.duration_ms,
            "writes": last.api_writes,
            "finishedAt": last.finished_at.isoformat() if last.finished_at else None,
        },
    }


def partition_counters(pods: list[dict[str, Any]], lag: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Per entity and input partition: records and bytes consumed, summed over the entity's pods
    (the old owner of a moved partition keeps its count), and the lag. Takes the per-partition
    counts out of the pod samples, which the dashboard does not need."""
    counters: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for pod in pods:
        for partition, (records, size) in pod.pop("partitions", {}).items():
            summed = counters[pod["entity"]].setdefault(partition, [0.0, 0.0, 0.0])
            summed[0] += records
            summed[1] += size
    for entity, partitions in counters.items():
        for partition, summed in partitions.items():
            summed[2] = lag.get(entity, {}).get(partition, 0.0)
    return dict(counters)


def live_components(
    deployment: Deployment, states: list[PodState], pods: list[dict[str, Any]]
) -> dict[str, Any]:
    """The status's ``components`` (as the reconcile wrote them) with what is true now: pods per
    phase, the top reasons (orchestrator.reconciler.health: counts, never every pod) and dead letters per
    entity, so the status bar does not wait for the next reconcile to say a pod crashes."""
    dead: dict[str, float] = defaultdict(float)
    for pod in pods:
        dead[pod["entity"]] += pod.get("deadLetters", 0.0)
    return {
        **(deployment.components or {}),
        "podPhases": health.phase_counts(states),
        "topReasons": health.top_reasons(states),
        "deadLetters": dict(dead),
    }


def collect(deployment: Deployment, backend: Backend) -> dict[str, Any]:
    now = time.time()
    states = backend.observe(deployment.name).pods
    pods = [pod_sample(p) for p in states]
    with_rates(deployment.name, pods, now)
    per_entity: dict[str, int] = defaultdict(int)
    lag: dict[str, dict[str, float]] = defaultdict(dict)
    for pod in pods:
        per_entity[pod["entity"]] += 1 if pod["phase"] == "Running" else 0
        lag[pod["entity"]].update(pod.pop("lag", {}))
    partition_rates.record(deployment.name, partition_counters(pods, lag), now)
    return {
        "deployment": deployment.name,
        "time": now,
        "status": {**status_of(deployment), "components": live_components(deployment, states, pods)},
        "entities": {
            e.name: {"pods": per_entity.get(e.name, 0)} for e in deployment.entities.order_by("position")
        },
        "pods": pods,
        "lag": lag,
        # A rate and duration percentiles of the recent passes: the dashboard's reconcile chart.
        "reconciles": reconcile_metrics.recent(deployment.name),
    }


def publish(payload: dict[str, Any]) -> None:
    """Keeps the payload in the deployment's bounded history (the metrics page opens with it
    drawn), then sends it to the deployment's websocket group."""
    try:
        metrics_history.append(payload)
    except redis.RedisError as exc:  # the live stream goes on; only the page's opening history has a gap
        log.warning("metrics of %s not kept in the history: %s", payload["deployment"], exc)
    group = metrics_group(payload["deployment"])
    async_to_sync(get_channel_layer().group_send)(group, {"type": "metrics.update", "payload": payload})
