"""Health with reasons: each pod's phase and last reason, and what they add up to per entity and
per deployment.

Why a module of its own: a deployment that showed Ready while its io sidecars looped on "output
topic 'x' does not exist" fooled a user. Both backends report pods as :class:`PodState` with a
phase (Pending, Running, CrashLoop, Failed, Unknown), a restart count and the last reason; this
module summarises them the same way for the status the reconcile writes, the collector's live
payload and the tests. Summaries are counts per phase and the few most common reasons, never a
list of every pod: at 300 pods a list is a wall of text. Pure: no Kafka, no Django, no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from orchestrator.reconciler.backend import PodState
from orchestrator.spec.model import DeploymentSpec, EntitySpec

if TYPE_CHECKING:
    from orchestrator.reconciler.topics import TopicsReport

PENDING, RUNNING, CRASH_LOOP, FAILED, UNKNOWN = "Pending", "Running", "CrashLoop", "Failed", "Unknown"
#: The order phases are shown in: the worst first.
PHASES = (FAILED, CRASH_LOOP, PENDING, UNKNOWN, RUNNING)
FAILING = frozenset({FAILED, CRASH_LOOP})
TOP_REASONS = 3
#: Kubernetes waiting reasons after which the container cannot start until someone changes it.
_CANNOT_START = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


def describe(reason: str | None, message: str | None) -> str:
    """ "Reason: message" as people read it; either part may be missing."""
    return ": ".join(part for part in (reason, message) if part)


def kube_pod_health(status: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(phase, reason, message) of a Kubernetes pod from its ``status``, containerStatuses first:
    the API says ``Running`` for a pod whose container is in CrashLoopBackOff."""
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason == "CrashLoopBackOff":
            last = (container.get("lastState") or {}).get("terminated") or {}
            return CRASH_LOOP, reason, _exited(container.get("name", "?"), last) or waiting.get("message")
        if reason in _CANNOT_START:
            return FAILED, reason, f"{container.get('name', '?')}: {waiting.get('message') or reason}"
    phase = status.get("phase") or PENDING
    if phase == FAILED:
        return FAILED, status.get("reason") or "PodFailed", status.get("message")
    if phase == PENDING:
        waiting = _first_waiting(status)
        return PENDING, waiting.get("reason") or status.get("reason"), waiting.get("message")
    return phase, status.get("reason"), status.get("message")


def _first_waiting(status: dict[str, Any]) -> dict[str, Any]:
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            return waiting
    return {}


def _exited(name: str, terminated: dict[str, Any]) -> str | None:
    if not terminated:
        return None
    text = f"container {name} exited with code {terminated.get('exitCode', '?')}"
    detail = terminated.get("message") or terminated.get("reason")
    return f"{text}: {detail}" if detail else text


def phase_counts(pods: Iterable[PodState]) -> dict[str, int]:
    """Pods per phase, worst first, only the phases that occur."""
    counts = Counter(pod.phase for pod in pods)
    ordered = [phase for phase in PHASES if phase in counts] + sorted(set(counts) - set(PHASES))
    return {phase: counts[phase] for phase in ordered}


def top_reasons(pods: Iterable[PodState], limit: int = TOP_REASONS) -> list[dict[str, Any]]:
    """The most common reasons of pods that are not plainly running, with how many pods have each."""
    counts = Counter(
        (pod.phase, pod.reason, pod.message or "")
        for pod in pods
        if pod.reason and (pod.phase != RUNNING or not pod.ready)
    )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], _rank(item[0][0])))
    return [
        {"phase": phase, "reason": reason, "message": message, "pods": count}
        for (phase, reason, message), count in ranked[:limit]
    ]


def _rank(phase: str) -> int:
    return PHASES.index(phase) if phase in PHASES else len(PHASES)


def unassigned_partitions(spec: DeploymentSpec, topics: TopicsReport | None) -> dict[str, list[int]]:
    """Per entity, the input partitions that exist (or are declared) but no pod owns: nobody
    consumes them, and no lag is exported for them."""
    counts = _input_counts(topics)
    found: dict[str, list[int]] = {}
    for entity in spec.entities:
        count = counts.get((entity.io_address, entity.input_topic), entity.input_partitions)
        if count is None:
            continue
        owned = {p for pod in entity.pods for p in pod.partitions}
        missing = [p for p in range(count) if p not in owned]
        if missing:
            found[entity.name] = missing
    return found


def _input_counts(topics: TopicsReport | None) -> dict[tuple[str, str], int]:
    if topics is None:
        return {}
    return {
        (r.want.bootstrap, r.want.topic): r.partitions for r in topics.results if r.partitions is not None
    }


def ranges(partitions: list[int]) -> str:
    """[0, 1, 2, 5] -> "0-2, 5"."""
    spans: list[list[int]] = []
    for p in sorted(partitions):
        if spans and p == spans[-1][1] + 1:
            spans[-1][1] = p
        else:
            spans.append([p, p])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def unassigned_message(spec: DeploymentSpec, unassigned: dict[str, list[int]]) -> str:
    parts = []
    for name, missing in unassigned.items():
        entity = spec.entity(name)
        topic = entity.input_topic if entity else "?"
        parts.append(f"{name}: partition(s) {ranges(missing)} of input topic {topic!r} have no pod")
    return "; ".join(parts)


def failing_message(pods: list[PodState]) -> str:
    """ "2/3 pods failing: CrashLoopBackOff: ... (2 pods)" — counts and the top reasons, no pod names."""
    failing = [pod for pod in pods if pod.phase in FAILING]
    reasons = [
        f"{describe(r['reason'], r['message'])} ({r['pods']} pod{'s' if r['pods'] != 1 else ''})"
        for r in top_reasons(failing)
    ]
    return f"{len(failing)}/{len(pods)} pods failing: " + "; ".join(reasons)


def entity_health(entity: EntitySpec, pods: list[PodState], unassigned: list[int] | None) -> dict[str, Any]:
    """One entity's state (Ready, Pending, Degraded) with a reason and a message, and its counts."""
    mine = [pod for pod in pods if pod.entity == entity.name]
    failing = [pod for pod in mine if pod.phase in FAILING]
    ready = sum(1 for pod in mine if pod.ready)
    state, reason, message = "Ready", "PodsReady", f"{ready}/{len(entity.pods)} pods ready"
    if failing:
        state, reason, message = "Degraded", "PodsFailing", failing_message(mine)
    elif unassigned:
        state, reason = "Degraded", "PartitionsUnassigned"
        message = f"partition(s) {ranges(unassigned)} of input topic {entity.input_topic!r} have no pod"
    elif ready < len(entity.pods):
        state, reason = "Pending", "WaitingForPods"
    return {
        "state": state,
        "reason": reason,
        "message": message,
        "podPhases": phase_counts(mine),
    }


def entities_health(
    spec: DeploymentSpec, pods: list[PodState], unassigned: dict[str, list[int]]
) -> dict[str, dict[str, Any]]:
    return {e.name: entity_health(e, pods, unassigned.get(e.name)) for e in spec.entities}


def condition(kind: str, ok: bool, reason: str, message: str) -> dict[str, str]:
    """A Kubernetes-style condition without its transition time (the update phase keeps it)."""
    return {"type": kind, "status": "True" if ok else "False", "reason": reason, "message": message}
