"""Moving partitions between pods (one, or a batch saved as one change), and rebalancing an
entity's partitions evenly.

The plans come from :mod:`orchestrator.planning.rebalance`; here they are applied like any other change:
the whole resulting spec is validated and stored with its revision and audit entry, whose
summary (and the reconcile's trigger) says which partition moved from which pod to which.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from orchestrator import (
    DeploymentSpec,
    FieldError,
    PodSpec,
    RebalancePlan,
    SpecError,
    parse_deployment,
    to_manifest,
)
from orchestrator import move_partition as plan_move
from orchestrator import rebalance_entity as plan_rebalance_entity
from topology_editor.models import Deployment, Interface
from topology_editor.services.errors import InvalidRequestError, NotFoundError
from topology_editor.services.handover import keep_until_taken_over
from topology_editor.services.limits import spec_limits
from topology_editor.services.recording import Origin, User
from topology_editor.services.saving import Change, check_version, locked, save_spec, write_transaction
from topology_editor.spec_rows import spec_from_rows


@dataclass(frozen=True)
class PartitionMove:
    """Partition ``partition`` of entity ``entity`` goes to pod ``to_pod``."""

    entity: str
    partition: int
    to_pod: str


def move_partition(
    name: str,
    entity: str,
    partition: int,
    to_pod: str,
    *,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Change:
    """Gives ``partition`` of ``entity`` to ``to_pod``. Naming an unknown entity or pod, or a
    partition no pod owns, is an :class:`InvalidRequestError` at the request field at fault."""
    move = PartitionMove(entity, partition, to_pod)
    return _save_moves(name, [move], "", Origin(actor, interface), expected_version)


def move_partitions(
    name: str,
    moves: Sequence[PartitionMove],
    *,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Change:
    """Applies ``moves`` in order as **one** change (one revision, one audit entry, one
    reconcile): what the editor's Save sends when the only edits were dragged partitions. An
    error names the move at fault (``moves[1].to_pod``) and nothing is changed."""
    if not moves:
        raise InvalidRequestError([FieldError("moves", "name at least one partition to move", "required")])
    return _save_moves(name, moves, "moves", Origin(actor, interface), expected_version)


def _save_moves(
    name: str, moves: Sequence[PartitionMove], field: str, origin: Origin, expected_version: int | None
) -> Change:
    with write_transaction():
        deployment = locked(name, expected_version)
        old = spec_from_rows(deployment)
        spec, lines = old, []
        for i, move in enumerate(moves):
            before = _owner(spec, move.entity, move.partition)
            at = f"{field}[{i}]." if field else ""
            spec = _request_checked(plan_move, spec, move.entity, move.partition, move.to_pod, prefix=at)
            if before != move.to_pod:
                lines.append(_moved(move.entity, move.partition, before, move.to_pod))
        summary = "; ".join(lines) or "moved nothing"
        return save_spec(
            deployment, old, _validated(spec), origin=origin, action="move_partition", summary=summary
        )


def moves_between(old: DeploymentSpec, new: DeploymentSpec) -> list[str]:
    """ "moved partition 3 of splitter from splitter-1 to splitter-0" for every partition whose
    owner changed between two specs (entities and pods matched by name): a whole-spec save that
    also moved partitions says so in its audit entry and its reconcile's trigger."""
    lines = []
    for entity in new.entities:
        before = {p: pod.name for pod in _pods(old, entity.name) for p in pod.partitions}
        for pod in entity.pods:
            for p in pod.partitions:
                if before.get(p, pod.name) != pod.name:
                    lines.append(_moved(entity.name, p, before[p], pod.name))
    return lines


def _moved(entity: str, partition: int, from_pod: str, to_pod: str) -> str:
    """The audit entry's and the reconcile trigger's words for one move, whichever save made it."""
    return f"moved partition {partition} of {entity} from {from_pod} to {to_pod}"


def _pods(spec: DeploymentSpec, entity: str) -> tuple[PodSpec, ...]:
    current = spec.entity(entity)
    return current.pods if current is not None else ()


@dataclass(frozen=True)
class Rebalance:
    """The plan (every move and the resulting assignment) and, unless a dry run, the change."""

    plan: RebalancePlan
    change: Change
    dry_run: bool


def rebalance_entity(
    name: str,
    entity: str,
    *,
    removed: Collection[str] = (),
    dry_run: bool = False,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Rebalance:
    """Splits ``entity``'s partitions evenly over its pods less ``removed``, moving as few as
    possible; a dry run returns the plan and changes nothing. A removed pod that owns partitions
    leaves the spec only once they are taken over (``services.handover.keep_until_taken_over``)."""
    with write_transaction():
        deployment = _for_rebalance(name, expected_version, dry_run)
        old = spec_from_rows(deployment)
        if old.entity(entity) is None:
            raise NotFoundError("entity", entity, within=f"deployment {name!r}")
        balanced, plan = _request_checked(plan_rebalance_entity, old, entity, tuple(removed))
        new = _validated(balanced)
        if dry_run:
            return Rebalance(plan, Change(deployment, new, None, changed=False), dry_run=True)

        new = keep_until_taken_over(name, old, new, entity, removed, plan.moves, "rebalance")
        summary = f"rebalanced {entity}: {len(plan.moves)} partition(s) moved"
        origin = Origin(actor, interface)
        change = save_spec(deployment, old, new, origin=origin, action="rebalance", summary=summary)
        return Rebalance(plan, change, dry_run=False)


def _for_rebalance(name: str, expected_version: int | None, dry_run: bool) -> Deployment:
    if not dry_run:
        return locked(name, expected_version)
    deployment = Deployment.objects.filter(name=name).first()
    if deployment is None:
        raise NotFoundError("deployment", name)
    check_version(deployment, expected_version)
    return deployment


def _request_checked(plan, *args, prefix: str = ""):  # type: ignore[no-untyped-def]
    """``plan(*args)``, its SpecErrors (unknown names in the request) as InvalidRequestError,
    their paths under ``prefix`` (the move's place in a batch)."""
    try:
        return plan(*args)
    except SpecError as error:
        errors = [FieldError(prefix + e.path, e.message, e.code) for e in error.errors]
        raise InvalidRequestError(errors) from None


def _validated(spec: DeploymentSpec) -> DeploymentSpec:
    """The whole resulting spec through the one validator, as every stored spec goes."""
    return parse_deployment(to_manifest(spec), spec_limits())


def _owner(spec: DeploymentSpec, entity: str, partition: int) -> str:
    return next((pod.name for pod in _pods(spec, entity) if partition in pod.partitions), "nobody")
