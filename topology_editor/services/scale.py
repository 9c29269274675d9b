"""Scaling an entity to N pods in one step (issue 14, item 3): the new pods and the fewest
partition moves as one change (one revision, one audit entry, trigger ``scale``).

Scaling out adds pods named ``{entity}-{k}`` (the first free ``k`` from 0, with the last pod's
resources) and splits the partitions evenly over all of them, moving as few as possible
(:func:`orchestrator.planning.rebalance.plan_rebalance`). Scaling in removes the pods owning
the fewest partitions (the last on a tie), so that the fewest partitions move; their moves come
first in the plan. A removed pod that owns partitions is drained, never dropped (issue 16, item
3): the change hands its partitions over and keeps it in the spec owning nothing, and
``jobs.finish_drain`` removes it by a second change once the new owners consume them. A
removed pod that owns nothing goes in the same change. The browser plans the same way on
unsaved edits (static/invoker/editor/scale.js).
"""

from dataclasses import dataclass, replace
from functools import partial

from django.db import transaction

from orchestrator import DeploymentSpec, EntitySpec, FieldError, PodSpec
from orchestrator.planning.rebalance import Move, plan_rebalance
from topology_editor.models import Interface
from topology_editor.services.errors import InvalidRequestError, NotFoundError
from topology_editor.services.handover import queue_finish_drain
from topology_editor.services.partitions import _for_rebalance, _validated
from topology_editor.services.recording import Origin, User
from topology_editor.services.saving import Change, save_spec, write_transaction
from topology_editor.spec_rows import spec_from_rows

ACTION = "scale"


@dataclass(frozen=True)
class ScalePlan:
    """What scaling ``entity`` to ``pods_after`` pods does. ``moves`` lists the removed pods'
    partitions first; ``assignment`` is each remaining pod's partitions after the moves;
    ``draining`` are the removed pods that keep their place, owning nothing, until their
    partitions are taken over."""

    entity: str
    pods_before: int
    pods_after: int
    added: list[str]
    removed: list[str]
    draining: list[str]
    moves: list[Move]
    assignment: dict[str, list[int]]


@dataclass(frozen=True)
class Scale:
    plan: ScalePlan
    change: Change
    dry_run: bool


def scale_entity(
    name: str,
    entity: str,
    pods: int,
    *,
    dry_run: bool = False,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Scale:
    """Brings ``entity`` to ``pods`` pods as one change (a dry run only returns the plan). A
    count below 1 or above the entity's partitions is refused at ``pods``, and nothing changes."""
    with write_transaction():
        deployment = _for_rebalance(name, expected_version, dry_run)
        old = spec_from_rows(deployment)
        current = old.entity(entity)
        if current is None:
            raise NotFoundError("entity", entity, within=f"deployment {name!r}")
        scaled, plan = plan_scale(old, current, pods)
        new = _validated(scaled)
        if dry_run:
            return Scale(plan, Change(deployment, new, None, changed=False), dry_run=True)
        change = save_spec(
            deployment, old, new, origin=Origin(actor, interface), action=ACTION, summary=_summary(plan)
        )
        if change.changed:
            for pod in plan.draining:
                handed = [[m.partition, m.to_pod] for m in plan.moves if m.from_pod == pod]
                transaction.on_commit(partial(queue_finish_drain, name, entity, pod, handed, ACTION))
        return Scale(plan, change, dry_run=False)


def partitions_of(entity: EntitySpec) -> list[int]:
    """The partitions the entity's pods are to own: all ``inputPartitions`` when declared,
    else those owned now."""
    if entity.input_partitions:
        return list(range(entity.input_partitions))
    return sorted({p for pod in entity.pods for p in pod.partitions})


def plan_scale(spec: DeploymentSpec, entity: EntitySpec, pods: int) -> tuple[DeploymentSpec, ScalePlan]:
    """``spec`` with ``entity`` scaled to ``pods`` pods, and the plan (pure: no database)."""
    partitions = partitions_of(entity)
    _check_count(entity, pods, len(partitions))
    have = len(entity.pods)
    added = _new_names(entity, pods - have) if pods > have else []
    removed = pods_to_remove(entity, pods)
    assignment = {pod.name: list(pod.partitions) for pod in entity.pods} | {pod: [] for pod in added}
    planned = plan_rebalance(assignment, partitions, removed)
    leaving = set(removed)
    moves = sorted(planned.moves, key=lambda m: (m.from_pod not in leaving, m.partition))
    draining = [pod.name for pod in entity.pods if pod.name in leaving and pod.partitions]
    template = entity.pods[-1].resources if entity.pods else {}
    kept = [*entity.pods, *(PodSpec(pod, (), template) for pod in added)]
    new_pods = tuple(
        replace(pod, partitions=tuple(planned.assignment[pod.name]) if pod.name not in leaving else ())
        for pod in kept
        if pod.name not in leaving or pod.name in draining
    )
    entities = tuple(replace(e, pods=new_pods) if e.name == entity.name else e for e in spec.entities)
    plan = ScalePlan(entity.name, have, pods, added, removed, draining, moves, planned.assignment)
    return replace(spec, entities=entities), plan


def pods_to_remove(entity: EntitySpec, pods: int) -> list[str]:
    """The pods a scale-in to ``pods`` removes: those owning the fewest partitions (so the
    fewest move), the last one first on a tie."""
    order = sorted(enumerate(entity.pods), key=lambda item: (len(item[1].partitions), -item[0]))
    return [pod.name for _, pod in order[: max(0, len(entity.pods) - pods)]]


def _check_count(entity: EntitySpec, pods: int, partitions: int) -> None:
    most = max(1, partitions)
    if isinstance(pods, bool) or not isinstance(pods, int) or pods < 1:
        message = f"pods must be a whole number of at least 1, not {pods!r}"
        raise InvalidRequestError([FieldError("pods", message, "out_of_range")])
    if pods > most:
        message = (
            f"pods must be at most {most}: entity {entity.name!r} has {partitions} partition(s), "
            "and a pod more would own none"
        )
        raise InvalidRequestError([FieldError("pods", message, "out_of_range")])


def _new_names(entity: EntitySpec, count: int) -> list[str]:
    taken = {pod.name for pod in entity.pods}
    names: list[str] = []
    k = 0
    while len(names) < count:
        if f"{entity.name}-{k}" not in taken:
            names.append(f"{entity.name}-{k}")
        k += 1
    return names


def _summary(plan: ScalePlan) -> str:
    """The audit entry's and the reconcile trigger's words: what was added or removed and moved."""
    before, after = plan.pods_before, plan.pods_after
    direction = " out" if after > before else " in" if after < before else ""
    who = [f"added {', '.join(plan.added)}"] if plan.added else []
    who += [f"removed {', '.join(plan.removed)}"] if plan.removed else []
    text = f"scaled {plan.entity}{direction} from {before} to {after} pod(s)"
    text += f" ({'; '.join(who)})" if who else ""
    text += f": {len(plan.moves)} partition(s) moved"
    if plan.draining:
        text += f"; {', '.join(plan.draining)} drained first, removed once taken over"
    return text[:300]
