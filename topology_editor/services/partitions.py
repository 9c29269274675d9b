"""Moving one partition between pods, and rebalancing an entity's partitions evenly.

The plans come from :mod:`orchestrator.rebalance`; here they are applied like any other change:
the whole resulting spec is validated and stored with its revision and audit entry.
"""

from collections.abc import Collection
from dataclasses import dataclass

from orchestrator import DeploymentSpec, RebalancePlan, SpecError, parse_deployment, to_manifest
from orchestrator import move_partition as plan_move
from orchestrator import rebalance_entity as plan_rebalance_entity
from topology_editor.models import Deployment, Interface
from topology_editor.services.errors import InvalidRequestError, NotFoundError
from topology_editor.services.limits import spec_limits
from topology_editor.services.recording import Origin, User
from topology_editor.services.saving import Change, check_version, locked, save_spec, write_transaction
from topology_editor.spec_rows import spec_from_rows


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
    with write_transaction():
        deployment = locked(name, expected_version)
        old = spec_from_rows(deployment)
        new = _validated(_request_checked(plan_move, old, entity, partition, to_pod))
        summary = f"moved partition {partition} of {entity} from {_owner(old, entity, partition)} to {to_pod}"
        origin = Origin(actor, interface)
        return save_spec(deployment, old, new, origin=origin, action="move_partition", summary=summary)


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
    """Splits ``entity``'s partitions evenly over its pods less ``removed`` (which leave the
    spec), moving as few as possible; a dry run returns the plan and changes nothing."""
    with write_transaction():
        deployment = _for_rebalance(name, expected_version, dry_run)
        old = spec_from_rows(deployment)
        if old.entity(entity) is None:
            raise NotFoundError("entity", entity, within=f"deployment {name!r}")
        balanced, plan = _request_checked(plan_rebalance_entity, old, entity, tuple(removed))
        new = _validated(balanced)
        if dry_run:
            return Rebalance(plan, Change(deployment, new, None, changed=False), dry_run=True)
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


def _request_checked(plan, *args):  # type: ignore[no-untyped-def]
    """``plan(*args)``, its SpecErrors (unknown names in the request) as InvalidRequestError."""
    try:
        return plan(*args)
    except SpecError as error:
        raise InvalidRequestError(error.errors) from None


def _validated(spec: DeploymentSpec) -> DeploymentSpec:
    """The whole resulting spec through the one validator, as every stored spec goes."""
    return parse_deployment(to_manifest(spec), spec_limits())


def _owner(spec: DeploymentSpec, entity: str, partition: int) -> str:
    current = spec.entity(entity)
    pods = current.pods if current is not None else ()
    return next((pod.name for pod in pods if partition in pod.partitions), "nobody")
