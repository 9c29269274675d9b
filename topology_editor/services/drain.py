"""Draining a pod (issue 16, item 3): two changes, the handover and then the removal.

:func:`drain_pod` stores the first: the pod owns nothing, its partitions are the other pods'
(planned by :mod:`orchestrator.planning.drain`, by measured load when the collector has rates, else by
count). Unless the pod is only cordoned, it then queues ``jobs.finish_drain``, which calls
:func:`finish_drain` until the new owners consume every moved partition, and only then stores
the second change without the pod: its workload is deleted after the takeover, never before.

Every way of removing a pod goes through this (issue 16: no partition dropped or left unowned):
:func:`remove_pod` (the API's DELETE of a pod, the editor's "Remove pod") drains a pod that owns
partitions, and :func:`~topology_editor.services.handover.keep_until_taken_over` keeps the pods a
rebalance, a scale to N or a whole-spec save removes until their partitions are taken over.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction

from orchestrator import FieldError, SpecError
from orchestrator.planning.drain import (
    THEN,
    THEN_REMOVE,
    DrainPlan,
    drain_entity,
    pending_takeover,
    remove_drained,
)
from orchestrator.planning.load_rebalance import partition_load
from orchestrator.planning.rebalance import Move
from topology_editor import partition_rates
from topology_editor.models import Interface
from topology_editor.services import parts
from topology_editor.services.errors import ConflictError, InvalidRequestError, NotFoundError
from topology_editor.services.handover import queue_finish_drain
from topology_editor.services.partitions import _moved, _request_checked, _validated
from topology_editor.services.recording import Origin, User, record_audit
from topology_editor.services.saving import Change, locked, save_spec, write_transaction
from topology_editor.spec_rows import spec_from_rows

#: How long the new owners get to take over before the drain gives up (the pod stays cordoned).
TAKEOVER_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class Drain:
    plan: DrainPlan
    then: str
    change: Change


def drain_pod(
    name: str,
    entity: str,
    pod: str,
    *,
    then: str = THEN_REMOVE,
    action: str = "drain",
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Drain:
    """Hands ``pod``'s partitions to the other pods of ``entity`` as one change; with ``then``
    ``remove`` the pod is removed by a second change once they have taken over. Bad input (an
    unknown entity or pod, the last pod of its entity, an unknown ``then``) changes nothing."""
    if then not in THEN:
        message = f"then must be one of {', '.join(THEN)}, not {then!r}"
        raise InvalidRequestError([FieldError("then", message, "invalid_value")])
    with write_transaction():
        deployment = locked(name, expected_version)
        old = spec_from_rows(deployment)
        if old.entity(entity) is None:
            raise NotFoundError("entity", entity, within=f"deployment {name!r}")
        loads = _loads(name, entity)
        drained, plan = _request_checked(drain_entity, old, entity, pod, loads)
        lines = [_moved(entity, m.partition, pod, m.to_pod) for m in plan.moves]
        summary = f"draining {pod} of {entity}" + (f": {'; '.join(lines)}" if lines else " (it owns nothing)")
        origin = Origin(actor, interface)
        change = save_spec(
            deployment, old, _validated(drained), origin=origin, action=action, summary=summary
        )
        if then == THEN_REMOVE:
            moves = [[m.partition, m.to_pod] for m in plan.moves]
            transaction.on_commit(lambda: queue_finish_drain(name, entity, pod, moves, action))
        return Drain(plan, then, change)


def _loads(name: str, entity: str) -> dict[int, float] | None:
    """Each partition's measured load when the collector has it (None: plan by count)."""
    rates = partition_rates.rates(name).get(entity, {})
    return {p: partition_load(rate, "records") for p, rate in rates.items()} or None


def finish_drain(
    name: str,
    entity: str,
    pod: str,
    moves: Sequence[Move],
    owned: Mapping[str, Mapping[int, float]],
    action: str,
) -> str:
    """``waiting`` while a new owner does not consume a moved partition yet; otherwise removes
    the drained pod as one change (``removed``), or says why it cannot (``gone``: the
    deployment, entity or pod no longer exists; ``refused``: the pod owns partitions again,
    audited, and stays)."""
    if pending_takeover(moves, owned):
        return "waiting"
    with write_transaction():
        try:
            deployment = locked(name)
        except NotFoundError:
            return "gone"
        old = spec_from_rows(deployment)
        current = old.entity(entity)
        if current is None or pod not in {p.name for p in current.pods}:
            return "gone"
        origin = Origin(None, Interface.SYSTEM)
        summary = f"removed drained pod {pod} of {entity}: its {len(moves)} partition(s) taken over"
        try:
            new = remove_drained(old, entity, pod)
            save_spec(deployment, old, _validated(new), origin=origin, action=action, summary=summary)
        except (SpecError, ConflictError) as error:
            why = error.errors[0].message if isinstance(error, SpecError) else str(error)
            record_audit(deployment, origin, "drain_refused", f"{pod} of {entity} stays: {why}"[:300], [])
            return "refused"
        return "removed"


def give_up_drain(name: str, entity: str, pod: str, pending: Sequence[Move]) -> None:
    """The takeover did not finish in time: the pod stays, owning nothing, and the audit says
    which partitions were not taken over."""
    with write_transaction():
        try:
            deployment = locked(name)
        except NotFoundError:
            return
        waiting = ", ".join(f"{m.partition} by {m.to_pod}" for m in pending)
        summary = (
            f"drain of {pod} of {entity} stopped: not taken over in time ({waiting}); {pod} stays cordoned"
        )
        record_audit(deployment, Origin(None, Interface.SYSTEM), "drain_timeout", summary[:300], [])


@dataclass(frozen=True)
class PodRemoval:
    """What removing a pod did: ``drain`` when it owned partitions (handed over by ``change``;
    the pod goes by a second change once they are taken over), else None (gone in ``change``)."""

    change: Change
    drain: Drain | None


def remove_pod(
    name: str,
    entity: str,
    pod: str,
    *,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> PodRemoval:
    """Removes ``pod`` of ``entity`` without dropping a partition: a pod that owns partitions is
    drained first (:func:`drain_pod`, then removed once they are taken over); one that owns none
    is removed at once. The last pod of an entity that owns partitions is refused
    (:class:`ConflictError` naming why: nobody could take them). The API's DELETE of a pod and
    the editor's "Remove pod" come here; nothing changes on any refusal."""
    with write_transaction():
        deployment = locked(name, expected_version)
        current = spec_from_rows(deployment).entity(entity)
        if current is None:
            raise NotFoundError("entity", entity, within=f"deployment {name!r}")
        found = next((p for p in current.pods if p.name == pod), None)
        if found is None:
            raise NotFoundError("pod", pod, within=f"entity {entity!r}")
        origin = {"actor": actor, "interface": interface}
        if not found.partitions:
            return PodRemoval(parts.remove_pod(name, entity, pod, **origin), None)
        if len(current.pods) == 1:
            owned = ", ".join(map(str, found.partitions))
            raise ConflictError(
                f"pod {pod!r} is the last pod of entity {entity!r} and owns partitions {owned}: nobody "
                "could take them over; add a pod first, or remove the entity"
            )
        drain = drain_pod(name, entity, pod, **origin)
        return PodRemoval(drain.change, drain)
