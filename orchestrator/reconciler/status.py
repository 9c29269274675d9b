"""The update phase: the status a deployment shows, derived from what was observed.

Status is a pure function of the observation and of the outcome of the reconcile pass, so the
dashboard, `kubectl get invokerdeployments` and the tests all read the same story.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.reconciler import health
from orchestrator.reconciler.backend import Observed
from orchestrator.reconciler.plan import Change, rollout_settled
from orchestrator.spec.model import DeploymentSpec

if TYPE_CHECKING:  # the Kafka side stays out of this pure module
    from orchestrator.reconciler.topics import TopicsReport

READY, UPGRADING, DEGRADED, FAILED, PENDING = "Ready", "Upgrading", "Degraded", "Failed", "Pending"


@dataclass(frozen=True)
class Outcome:
    """What the reconcile pass did or could not do."""

    applied: list[Change] = field(default_factory=list)
    held: list[Change] = field(default_factory=list)
    error: str | None = None
    permanent: bool = False
    #: The topics step's report (``orchestrator.reconciler.topics``); None when the pass did not run it.
    topics: TopicsReport | None = None


def components(spec: DeploymentSpec, observed: Observed, outcome: Outcome) -> dict[str, Any]:
    # Status is read after the pass: what it applied is in place, only what it held back is not.
    pending = {(c.kind, c.name) for c in outcome.held}
    workloads = observed.objects.get("Deployment", {})
    expected_pods = sum(len(entity.pods) for entity in spec.entities)
    ready_pods = sum(1 for pod in observed.pods if pod.ready)
    # Partitions are judged against topics that are right: a mis-sized topic is its own condition.
    topics_fine = outcome.topics is None or outcome.topics.ready
    unassigned = health.unassigned_partitions(spec, outcome.topics) if topics_fine else {}
    return {
        "configMapsReady": not any(kind == "ConfigMap" for kind, _ in pending),
        "workloadsReady": not any(kind == "Deployment" for kind, _ in pending)
        and all(rollout_settled(live) for live in workloads.values()),
        "entitiesReady": ready_pods >= expected_pods and not pending,
        "podsReady": ready_pods,
        "podsExpected": expected_pods,
        # Counts and the top reasons, never every pod's name (see orchestrator.reconciler.health).
        "podPhases": health.phase_counts(observed.pods),
        "topReasons": health.top_reasons(observed.pods),
        "unassignedPartitions": unassigned,
        "entities": health.entities_health(spec, observed.pods, unassigned),
    }


def derive_state(
    parts: dict[str, Any],
    outcome: Outcome,
    observed: Observed,
    previous: dict[str, Any],
    spec: DeploymentSpec,
) -> tuple[str, str, str]:
    """(state, reason, message) — the reason is a stable CamelCase word, the message is for people."""
    if outcome.error:
        if outcome.permanent:
            return FAILED, "ManifestRejected", outcome.error
        if outcome.topics is not None and outcome.topics.broker_unavailable:
            return DEGRADED, outcome.topics.reason, outcome.error
        return DEGRADED, "BackendUnavailable", outcome.error
    if outcome.topics is not None and not outcome.topics.ready:  # pods cannot work without them
        fresh = not parts["podsReady"] and not previous.get("currentRevision")
        return (PENDING if fresh else DEGRADED), outcome.topics.reason, outcome.topics.message
    if any(pod.phase in health.FAILING for pod in observed.pods):
        return DEGRADED, "PodsFailing", health.failing_message(observed.pods)
    if parts["unassignedPartitions"]:  # nobody consumes them: never Ready, whatever the pods say
        return (
            DEGRADED,
            "PartitionsUnassigned",
            health.unassigned_message(spec, parts["unassignedPartitions"]),
        )
    if parts["entitiesReady"] and parts["workloadsReady"] and parts["configMapsReady"]:
        return READY, "Reconciled", "every pod runs the current revision"
    message = f"{parts['podsReady']}/{parts['podsExpected']} pods ready"
    if outcome.held:  # what was applied is done; what is held back still waits its turn
        message += f"; {len(outcome.held)} pod replacement(s) waiting"
    if not parts["podsReady"] and not previous.get("currentRevision"):
        return PENDING, "WaitingForPods", message  # nothing has run yet: a first start, not an upgrade
    return UPGRADING, "RollingOut", message


def derive_status(
    spec: DeploymentSpec, revision: str, observed: Observed, outcome: Outcome, previous: dict[str, Any] | None
) -> dict[str, Any]:
    previous = previous or {}
    parts = components(spec, observed, outcome)
    state, reason, message = derive_state(parts, outcome, observed, previous, spec)
    current = revision if state == READY else previous.get("currentRevision")
    return {
        "state": state,
        "currentRevision": current,
        "nextRevision": None if state == READY else revision,
        "components": parts,
        "conditions": [
            _condition(state, reason, message, previous),
            *_topics_condition(outcome, previous),
            *_health_conditions(spec, observed, parts, previous),
        ],
        "lastUpdateTime": _now(),
    }


def _condition(state: str, reason: str, message: str, previous: dict[str, Any]) -> dict[str, str]:
    status = "True" if state == READY else "False"
    condition = {"type": "Ready", "status": status, "reason": reason, "message": message}
    return {**condition, "lastTransitionTime": _since(condition, previous)}


def _topics_condition(outcome: Outcome, previous: dict[str, Any]) -> list[dict[str, str]]:
    """``TopicsReady`` after the Ready condition (which stays first), when topics were reconciled."""
    if outcome.topics is None:
        return []
    condition = outcome.topics.condition()
    return [{**condition, "lastTransitionTime": _since(condition, previous)}]


def _health_conditions(
    spec: DeploymentSpec, observed: Observed, parts: dict[str, Any], previous: dict[str, Any]
) -> list[dict[str, str]]:
    """``PodsHealthy`` and ``PartitionsAssigned``, listed while they do not hold (after Ready and
    TopicsReady), so a healthy deployment's conditions stay the two it always had."""
    found = []
    if any(pod.phase in health.FAILING for pod in observed.pods):
        found.append(
            health.condition("PodsHealthy", False, "PodsFailing", health.failing_message(observed.pods))
        )
    if parts["unassignedPartitions"]:
        message = health.unassigned_message(spec, parts["unassignedPartitions"])
        found.append(health.condition("PartitionsAssigned", False, "PartitionsUnassigned", message))
    return [{**c, "lastTransitionTime": _since(c, previous)} for c in found]


def _since(condition: dict[str, str], previous: dict[str, Any]) -> str:
    """The condition's last transition: kept while its status and reason stay the same."""
    conditions = previous.get("conditions") or []
    old = next((c for c in conditions if c.get("type") == condition["type"]), {})
    changed = old.get("status") != condition["status"] or old.get("reason") != condition["reason"]
    return _now() if changed or "lastTransitionTime" not in old else old["lastTransitionTime"]


def status_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """Whether writing ``new`` says anything ``old`` did not; timestamps alone are not news."""
    if not old:
        return True
    return _without_times(old) != _without_times(new)


def _without_times(status: dict[str, Any]) -> dict[str, Any]:
    conditions = [
        {k: v for k, v in c.items() if k != "lastTransitionTime"} for c in status.get("conditions") or []
    ]
    # A merge patch drops null fields, so a stored status never holds them: compare without.
    kept = {k: v for k, v in status.items() if k != "lastUpdateTime" and v is not None}
    return {**kept, "conditions": conditions}


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
