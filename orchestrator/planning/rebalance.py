"""Assigning an entity's input partitions to its pods: balanced, and moving as few as possible.

Every moved partition is handed over between pods (the new owner resumes from the old one's
position), so a rebalance moves only what balance requires. The plan keeps as many of each
pod's partitions as its share allows, with the one-larger shares going to the pods that
already hold the most; that maximises the partitions that stay put, so the number of moves
is the minimum possible. Adding one pod to ``n`` balanced pods therefore moves
``floor(P / (n + 1))`` partitions, and an already balanced assignment moves none.

Ties are broken by the order the pods are given in, and a pod sheds its highest partitions
first and receives the lowest free ones, so the same input always gives the same plan and a
fresh assignment is contiguous (6 partitions over 2 pods: ``[0, 1, 2]`` and ``[3, 4, 5]``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from orchestrator.spec.model import DeploymentSpec, EntitySpec, PodSpec, SpecError


@dataclass(frozen=True)
class Move:
    """``partition`` goes to ``to_pod``; ``from_pod`` is ``None`` if nobody owned it."""

    partition: int
    from_pod: str | None
    to_pod: str


@dataclass(frozen=True)
class RebalancePlan:
    """The moves, in partition order, and the resulting assignment (pods in the given order,
    removed pods left out, partitions sorted)."""

    moves: list[Move]
    assignment: dict[str, list[int]]


def plan_rebalance(
    assignment: Mapping[str, Sequence[int]], partitions: Sequence[int], removed: Collection[str] = ()
) -> RebalancePlan:
    """A balanced assignment of ``partitions`` to the pods of ``assignment`` minus ``removed``.

    ``assignment`` is the current ownership, including pods about to be ``removed``, whose
    partitions then move with ``from_pod`` naming them. A partition nobody owns (a topic that
    grew) moves from ``None``; owned partitions not in ``partitions`` are released. Should a
    partition be listed by two pods, the first pod keeps it.
    """
    unknown = sorted(set(removed) - set(assignment))
    if unknown:
        raise ValueError(f"cannot remove unknown pods: {', '.join(unknown)}")
    pods = [pod for pod in assignment if pod not in removed]
    wanted = sorted(set(partitions))
    if wanted and not pods:
        raise ValueError(f"{len(wanted)} partitions need at least one pod to own them")
    held = _held(assignment, pods, set(wanted))
    shares = _shares(held, pods, len(wanted))
    kept = {pod: held[pod][: shares[pod]] for pod in pods}
    return _fill(kept, shares, wanted, _first_owners(assignment))


def _held(assignment: Mapping[str, Sequence[int]], pods: list[str], wanted: set[int]) -> dict[str, list[int]]:
    """What each remaining pod holds of ``wanted``, each partition counted for one pod only."""
    claimed: set[int] = set()
    held: dict[str, list[int]] = {}
    for pod in pods:
        held[pod] = sorted(p for p in set(assignment[pod]) if p in wanted and p not in claimed)
        claimed.update(held[pod])
    return held


def _shares(held: dict[str, list[int]], pods: list[str], total: int) -> dict[str, int]:
    """Everyone gets ``total // n``; the remainder goes to the pods holding most (stable)."""
    if not pods:
        return {}
    base, extra = divmod(total, len(pods))
    larger = set(sorted(pods, key=lambda pod: -len(held[pod]))[:extra])
    return {pod: base + (pod in larger) for pod in pods}


def _first_owners(assignment: Mapping[str, Sequence[int]]) -> dict[int, str]:
    owners: dict[int, str] = {}
    for pod, partitions in assignment.items():
        for partition in partitions:
            owners.setdefault(partition, pod)
    return owners


def _fill(
    kept: dict[str, list[int]], shares: dict[str, int], wanted: list[int], owners: dict[int, str]
) -> RebalancePlan:
    staying = {p for partitions in kept.values() for p in partitions}
    free = iter(p for p in wanted if p not in staying)
    moves: list[Move] = []
    for pod, partitions in kept.items():
        for _ in range(shares[pod] - len(partitions)):
            partition = next(free)
            moves.append(Move(partition, owners.get(partition), pod))
            partitions.append(partition)
    moves.sort(key=lambda move: move.partition)
    return RebalancePlan(moves, {pod: sorted(partitions) for pod, partitions in kept.items()})


def rebalance_entity(
    spec: DeploymentSpec, entity: str, removed: Collection[str] = ()
) -> tuple[DeploymentSpec, RebalancePlan]:
    """``spec`` with ``entity``'s partitions rebalanced over its pods, less ``removed``.

    All ``inputPartitions`` partitions are assigned when the count is known; otherwise the
    partitions the pods own now. Add a pod to the spec (with no partitions) before calling
    this to scale out; name pods in ``removed`` to scale in.
    """
    current = _find_entity(spec, entity)
    names = [pod.name for pod in current.pods]
    for pod in removed:
        _require_pod(current, pod, "removed")
    owned = {p for pod in current.pods for p in pod.partitions}
    partitions = range(current.input_partitions) if current.input_partitions else sorted(owned)
    if partitions and set(names) <= set(removed):
        raise SpecError.single(
            "removed", f"entity {entity!r} needs at least one pod to own its partitions", "conflict"
        )
    plan = plan_rebalance({pod.name: pod.partitions for pod in current.pods}, partitions, removed)
    pods = tuple(
        replace(pod, partitions=tuple(plan.assignment[pod.name]))
        for pod in current.pods
        if pod.name not in removed
    )
    return _with_entity(spec, replace(current, pods=pods)), plan


def move_partition(spec: DeploymentSpec, entity: str, partition: int, to_pod: str) -> DeploymentSpec:
    """``spec`` with ``partition`` of ``entity`` owned by ``to_pod`` instead of its current pod.

    Raises :class:`SpecError` (paths ``entity``, ``to_pod``, ``partition``, code
    ``not_found``) for an unknown entity or pod or a partition no pod owns. Moving a
    partition to the pod that owns it returns ``spec`` unchanged.
    """
    current = _find_entity(spec, entity)
    _require_pod(current, to_pod, "to_pod")
    if not any(partition in pod.partitions for pod in current.pods):
        message = f"partition {partition} is not assigned to any pod of entity {entity!r}"
        raise SpecError.single("partition", message, "not_found")
    pods = tuple(_with_partition(pod, partition, pod.name == to_pod) for pod in current.pods)
    return _with_entity(spec, replace(current, pods=pods))


def _with_partition(pod: PodSpec, partition: int, owns: bool) -> PodSpec:
    others = tuple(p for p in pod.partitions if p != partition)
    return replace(pod, partitions=tuple(sorted((*others, partition))) if owns else others)


def _find_entity(spec: DeploymentSpec, name: str) -> EntitySpec:
    entity = spec.entity(name)
    if entity is None:
        known = ", ".join(e.name for e in spec.entities) or "none"
        message = f"deployment {spec.name!r} has no entity {name!r} (its entities: {known})"
        raise SpecError.single("entity", message, "not_found")
    return entity


def _require_pod(entity: EntitySpec, name: str, path: str) -> None:
    known = [pod.name for pod in entity.pods]
    if name not in known:
        message = f"entity {entity.name!r} has no pod {name!r} (its pods: {', '.join(known) or 'none'})"
        raise SpecError.single(path, message, "not_found")


def _with_entity(spec: DeploymentSpec, entity: EntitySpec) -> DeploymentSpec:
    entities = tuple(entity if e.name == entity.name else e for e in spec.entities)
    return replace(spec, entities=entities)
