"""What must change for the live objects to match the desired manifests.

Changes are classified before anything is applied (as the Flink operator does): an object to
create, one whose fields drifted or changed, one whose pod template changed (its pods will be
replaced, so these go one at a time), and one to delete because the spec no longer has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.reconciler.backend import MANAGED_KINDS, Observed
from orchestrator.reconciler.compare import object_satisfies, template_changed

Action = Literal["create", "update", "roll", "delete"]


@dataclass(frozen=True)
class Change:
    action: Action
    kind: str
    name: str
    manifest: dict[str, Any] | None = None

    def describe(self) -> str:
        return f"{self.action} {self.kind}/{self.name}"


class PlanMemo:
    """The comparisons that found a live object satisfying its manifest, by object: while the
    live object's resourceVersion and the manifest (the very same dict, which the convert cache
    hands back for an unchanged entity) stay the same, the answer does too, so a pass compares
    only what changed since the last one. Manifests are read-only, so identity means content."""

    def __init__(self) -> None:
        self._satisfied: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}

    def known(self, manifest: dict[str, Any], live: dict[str, Any]) -> bool:
        key = (manifest["kind"], manifest["metadata"]["name"])
        entry = self._satisfied.get(key)
        return entry is not None and entry[1] is manifest and entry[0] == _version(live)

    def remember(self, manifest: dict[str, Any], live: dict[str, Any]) -> None:
        version = _version(live)
        if version:
            self._satisfied[(manifest["kind"], manifest["metadata"]["name"])] = (version, manifest)


def _version(live: dict[str, Any]) -> str | None:
    return (live.get("metadata") or {}).get("resourceVersion")


def plan_changes(
    desired: list[dict[str, Any]], observed: Observed, memo: PlanMemo | None = None
) -> list[Change]:
    """Every change, creates and updates in manifest order (ConfigMaps first), deletes last."""
    changes = [change for manifest in desired if (change := _change_for(manifest, observed, memo))]
    wanted = {(m["kind"], m["metadata"]["name"]) for m in desired}
    for kind in reversed(MANAGED_KINDS):
        changes.extend(
            Change("delete", kind, name)
            for name in sorted(observed.objects.get(kind, {}))
            if (kind, name) not in wanted
        )
    return changes


def _change_for(manifest: dict[str, Any], observed: Observed, memo: PlanMemo | None) -> Change | None:
    kind, name = manifest["kind"], manifest["metadata"]["name"]
    live = observed.get(kind, name)
    if live is None:
        return Change("create", kind, name, manifest)
    if memo is not None and memo.known(manifest, live):
        return None
    if object_satisfies(live, manifest):
        if memo is not None:
            memo.remember(manifest, live)
        return None
    if kind == "Deployment" and template_changed(live, manifest):
        return Change("roll", kind, name, manifest)
    return Change("update", kind, name, manifest)


def rollout_settled(live: dict[str, Any]) -> bool:
    """A workload whose controller has caught up with its latest template and whose pods are up."""
    status = live.get("status") or {}
    replicas = live.get("spec", {}).get("replicas", 1)
    generation = live.get("metadata", {}).get("generation", 0)
    return (
        status.get("observedGeneration", 0) >= generation
        and status.get("updatedReplicas", 0) == replicas
        and status.get("availableReplicas", 0) == replicas
        and status.get("replicas", replicas) == replicas
    )


def limit_rollouts(changes: list[Change], observed: Observed) -> tuple[list[Change], list[Change]]:
    """Keeps at most one pod replacement under way: returns (to apply now, held back).

    A replacement starts only when no workload of the deployment is still rolling out, so an
    image or resource change replaces the pods one at a time across reconciles.
    """
    workloads = observed.objects.get("Deployment", {}).values()
    busy = any(not rollout_settled(live) for live in workloads)
    now, held = [], []
    for change in changes:
        if change.action == "roll" and (busy or any(c.action == "roll" for c in now)):
            held.append(change)
        else:
            now.append(change)
    return now, held
