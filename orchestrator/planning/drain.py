"""Draining a pod: its partitions go to the other pods of its entity first, and only once they
have taken over is the pod removed (or left in place, owning nothing: cordoned).

Two revisions instead of one: a scale-in that removed the pod in the same revision as it moved
its partitions would stop the pod while its successors were still claiming them. In the first
revision the drained pod stays, owning nothing, so it commits and releases each partition and
its successor claims it cleanly (no fencing, no duplicates, the gap is one handover). Only when
:func:`pending_takeover` finds every moved partition consumed by its new owner does the second
revision remove the workload.

Only the drained pod's partitions move, so the plan makes the fewest moves possible: each of them
must move and no other needs to. Each goes, heaviest first, to the remaining pod with the least
load (measured load when given, else the partition count), ties broken by pod order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from orchestrator.planning.rebalance import Move, _find_entity, _require_pod, _with_entity
from orchestrator.spec.model import DeploymentSpec, SpecError

#: What happens to a drained pod once its partitions are taken over.
THEN_REMOVE = "remove"
THEN_CORDON = "cordon"
THEN = (THEN_REMOVE, THEN_CORDON)


@dataclass(frozen=True)
class DrainPlan:
    """The moves (partition order) and the assignment after the handover; the drained pod is
    in it with no partitions."""

    pod: str
    moves: list[Move]
    assignment: dict[str, list[int]]


def plan_drain(
    assignment: Mapping[str, Sequence[int]], pod: str, loads: Mapping[int, float] | None = None
) -> DrainPlan:
    """Hands every partition of ``pod`` to the other pods of ``assignment``, least loaded first.

    Raises ``ValueError`` for an unknown pod, or a pod that owns partitions and is the only one
    (nobody could take them)."""
    if pod not in assignment:
        raise ValueError(f"no pod {pod!r} (pods: {', '.join(assignment) or 'none'})")
    others = [name for name in assignment if name != pod]
    leaving = sorted(set(assignment[pod]))
    if leaving and not others:
        raise ValueError(f"pod {pod!r} is the only pod: nobody can take its {len(leaving)} partition(s)")
    weight = (lambda p: loads.get(p, 0.0)) if loads else (lambda p: 1.0)
    kept = {name: sorted(set(assignment[name]) - set(leaving)) for name in others}
    level = {name: sum(weight(p) for p in kept[name]) for name in others}
    order = {name: i for i, name in enumerate(others)}
    moves = []
    for partition in sorted(leaving, key=lambda p: (-weight(p), p)):
        target = min(others, key=lambda name: (level[name], len(kept[name]), order[name]))
        kept[target].append(partition)
        level[target] += weight(partition)
        moves.append(Move(partition, pod, target))
    moves.sort(key=lambda move: move.partition)
    after = {name: sorted(kept[name]) if name != pod else [] for name in assignment}
    return DrainPlan(pod, moves, after)


def drain_entity(
    spec: DeploymentSpec, entity: str, pod: str, loads: Mapping[int, float] | None = None
) -> tuple[DeploymentSpec, DrainPlan]:
    """``spec`` after the handover: ``pod`` of ``entity`` owns nothing, its partitions are the
    other pods'. :class:`SpecError` at ``entity`` or ``pod`` (``not_found``), or at ``pod``
    (``conflict``) when it is the last pod of its entity and owns partitions."""
    current = _find_entity(spec, entity)
    _require_pod(current, pod, "pod")
    assignment = {p.name: p.partitions for p in current.pods}
    try:
        plan = plan_drain(assignment, pod, loads)
    except ValueError:
        message = f"pod {pod!r} is the last pod of entity {entity!r}: nobody can take its partitions"
        raise SpecError.single("pod", message, "conflict") from None
    pods = tuple(replace(p, partitions=tuple(plan.assignment[p.name])) for p in current.pods)
    return _with_entity(spec, replace(current, pods=pods)), plan


def remove_drained(spec: DeploymentSpec, entity: str, pod: str) -> DeploymentSpec:
    """``spec`` without ``pod``, which must own nothing by now (``conflict`` at ``pod`` if it
    owns partitions again: someone gave it some since the drain began)."""
    current = _find_entity(spec, entity)
    _require_pod(current, pod, "pod")
    drained = next(p for p in current.pods if p.name == pod)
    if drained.partitions:
        owned = ", ".join(map(str, drained.partitions))
        message = f"pod {pod!r} owns partitions again ({owned}): drain it again before removing it"
        raise SpecError.single("pod", message, "conflict")
    pods = tuple(p for p in current.pods if p.name != pod)
    return _with_entity(spec, replace(current, pods=pods))


Owned = Mapping[str, Mapping[int, float]]


def pending_takeover(moves: Sequence[Move], owned: Owned) -> list[Move]:
    """The moves whose new owner does not consume its partition yet. ``owned`` is each pod's
    ``invoker_partition_owned`` gauge by partition (1 = consuming); a pod not scraped counts as
    not consuming. Empty when the drained pod can go."""
    return [move for move in moves if owned.get(move.to_pod, {}).get(move.partition) != 1]
