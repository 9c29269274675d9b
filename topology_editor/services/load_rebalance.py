"""Rebalancing an entity by measured load: a preview of the plan, or the plan applied as one
change (one revision, one audit entry, its reconcile's trigger "rebalance ... by load").

The loads come from :mod:`topology_editor.partition_rates` (what the metrics collector
measured over the window); the plan from :mod:`orchestrator.planning.load_rebalance`. Even-by-count
stays at :func:`topology_editor.services.partitions.rebalance_entity`.
"""

from collections.abc import Collection
from dataclasses import dataclass

from orchestrator import FieldError
from orchestrator.planning.load_rebalance import LoadPlan, PartitionRate, partition_load
from orchestrator.planning.load_rebalance import rebalance_entity_by_load as plan_by_load
from topology_editor import partition_rates
from topology_editor.models import Interface
from topology_editor.services.errors import InvalidRequestError, NotFoundError
from topology_editor.services.handover import keep_until_taken_over
from topology_editor.services.partitions import _for_rebalance, _request_checked, _validated
from topology_editor.services.recording import Origin, User
from topology_editor.services.saving import Change, save_spec, write_transaction
from topology_editor.spec_rows import spec_from_rows


@dataclass(frozen=True)
class LoadRebalance:
    """The plan, the rates and loads it was made from, and unless a dry run the change."""

    plan: LoadPlan
    rates: dict[int, PartitionRate]
    loads: dict[int, float]
    change: Change
    dry_run: bool


def rebalance_entity_by_load(
    name: str,
    entity: str,
    *,
    removed: Collection[str] = (),
    metric: str = "records",
    window_seconds: float = partition_rates.DEFAULT_WINDOW_SECONDS,
    target: float = 1.10,
    dry_run: bool = False,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> LoadRebalance:
    """Moves the fewest partitions of ``entity`` that bring every pod's measured load under
    ``target`` times the mean; a dry run returns the plan (the preview) and changes nothing.
    With no rates measured for the entity in the window the request is refused (nothing to
    balance by), naming ``window_seconds``."""
    with write_transaction():
        deployment = _for_rebalance(name, expected_version, dry_run)
        old = spec_from_rows(deployment)
        if old.entity(entity) is None:
            raise NotFoundError("entity", entity, within=f"deployment {name!r}")
        rates = partition_rates.rates(name, window_seconds).get(entity, {})
        if not rates:
            message = (
                f"no rates measured for entity {entity!r} in the last {window_seconds:g} s: the metrics "
                "collector needs two samples of its running pods; rebalance evenly by count instead"
            )
            raise InvalidRequestError([FieldError("window_seconds", message, "no_data")])
        loads = {p: partition_load(rate, metric) for p, rate in rates.items()}
        balanced, plan = _request_checked(plan_by_load, old, entity, loads, tuple(removed), target)
        new = _validated(balanced)
        if dry_run:
            return LoadRebalance(plan, rates, loads, Change(deployment, new, None, changed=False), True)

        new = keep_until_taken_over(name, old, new, entity, removed, plan.moves, "rebalance")
        summary = (
            f"rebalanced {entity} by load ({metric}/s over {window_seconds:g} s): "
            f"{len(plan.moves)} partition(s) moved, max/avg {plan.ratio_before:.2f} -> {plan.ratio_after:.2f}"
        )
        change = save_spec(
            deployment, old, new, origin=Origin(actor, interface), action="rebalance", summary=summary
        )
        return LoadRebalance(plan, rates, loads, change, False)
