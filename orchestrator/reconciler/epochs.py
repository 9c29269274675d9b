"""Assignment epochs: the number a pod fences on when partitions move between pods.

An entity's epoch rises exactly when its assignment (which pod owns which partition) differs
from the one observed in its live ConfigMap, so unrelated saves do not disturb the pods. It
never goes backwards, even when the ConfigMap was deleted by hand: the new epoch is at least
the revision number, and revision numbers only grow.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from orchestrator.reconciler.backend import Observed
from orchestrator.reconciler.convert import config_map_name
from orchestrator.spec.model import DeploymentSpec, EntitySpec

Assignment = dict[str, tuple[int, ...]]


def desired_assignment(entity: EntitySpec) -> Assignment:
    return {pod.name: tuple(sorted(pod.partitions)) for pod in entity.pods}


def observed_assignment(data: Mapping[str, str]) -> tuple[Assignment, int]:
    """The assignment and the highest epoch recorded in a live ConfigMap's data."""
    assignment: Assignment = {}
    epoch = 0
    for key, text in data.items():
        if key == "main.json" or not key.endswith(".json"):
            continue
        try:
            pod = json.loads(text)
            assignment[key.removesuffix(".json")] = tuple(sorted(int(p) for p in pod["partitions"]))
            epoch = max(epoch, int(pod["epoch"]))
        except (ValueError, KeyError, TypeError):
            return {}, epoch  # an unreadable file counts as a changed assignment
    return assignment, epoch


def entity_epochs(
    spec: DeploymentSpec,
    observed: Observed,
    revision_number: int,
    assignment_of: Callable[[Mapping[str, str]], tuple[Assignment, int]] = observed_assignment,
) -> dict[str, int]:
    """``assignment_of`` reads a live ConfigMap's data (the reconcile passes a memoized one)."""
    epochs = {}
    for entity in spec.entities:
        live = observed.get("ConfigMap", config_map_name(spec.name, entity.name))
        assignment, epoch = assignment_of((live or {}).get("data") or {})
        if live is not None and assignment == desired_assignment(entity) and epoch > 0:
            epochs[entity.name] = epoch
        else:
            epochs[entity.name] = max(epoch + 1, revision_number, 1)
    return epochs
