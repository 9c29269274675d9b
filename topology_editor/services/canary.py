"""Canarying a new UDF image on chosen pods of an entity (issue 16, item 5), as changes.

Each step is one change (one revision, one audit entry) whose action names the reconcile's
trigger: ``canary`` (start), ``canary_promote`` (one more pod, or at last the image made the
entity's), ``canary_abort``. The edits are :mod:`orchestrator.planning.canary`'s; partitions never
move, so totals stay exact throughout. Promotion goes one pod at a time: :func:`promote_canary`
makes one step and, with ``follow``, queues ``jobs.promote_canary``, which makes the next step
only once the pod promoted last runs the new image updated and ready (``jobs.canary``), and stops,
audited, if it does not within ``STEP_TIMEOUT_SECONDS``: the canary then stays as it is, for an
operator to abort or promote again.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass

from celery import current_app
from django.db import transaction

from orchestrator import DeploymentSpec
from orchestrator.planning import canary as edits
from orchestrator.planning.canary import Canary, canary_of
from topology_editor.models import Deployment, Interface
from topology_editor.services.errors import ConflictError, NotFoundError
from topology_editor.services.partitions import _request_checked, _validated
from topology_editor.services.recording import Origin, User, record_audit
from topology_editor.services.saving import Change, locked, save_spec, write_transaction
from topology_editor.spec_rows import spec_from_rows

#: How long a promoted pod gets to run the new image, updated and ready, before promotion stops.
STEP_TIMEOUT_SECONDS = 300.0

Edit = Callable[[DeploymentSpec], tuple[DeploymentSpec, str | None]]


@dataclass(frozen=True)
class CanaryChange:
    """The change made and the canary after it (None once promoted to every pod, or aborted);
    ``promoted`` names the pod a promotion step moved to the new image (None: the last step)."""

    change: Change
    canary: Canary | None
    promoted: str | None = None


def canary_status(name: str, entity: str) -> Canary | None:
    """The canary running on ``entity`` of ``name``, if any."""
    deployment = Deployment.objects.filter(name=name).first()
    if deployment is None:
        raise NotFoundError("deployment", name)
    current = spec_from_rows(deployment).entity(entity)
    if current is None:
        raise NotFoundError("entity", entity, within=f"deployment {name!r}")
    return canary_of(current)


def start_canary(
    name: str,
    entity: str,
    pods: Collection[str],
    image: str,
    *,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> CanaryChange:
    """``pods`` of ``entity`` run ``image``, its other pods keep the current image (one change).
    Bad input (unknown pods, none or all of them, the current image, another canary running, an
    invalid image) is refused naming the field, and nothing changes."""

    def edit(spec: DeploymentSpec) -> tuple[DeploymentSpec, str | None]:
        return _request_checked(edits.start_canary, spec, entity, tuple(pods), image), None

    summary = f"canary of {image} on {', '.join(pods)} of {entity}"
    return _step(name, entity, "canary", lambda _: summary, Origin(actor, interface), expected_version, edit)


def promote_canary(
    name: str,
    entity: str,
    *,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
    expected_image: str | None = None,
    follow: bool = True,
) -> CanaryChange:
    """One promotion step: the next pod on the canary image, or (every pod on it) the image made
    the entity's. With ``follow`` the next steps are made by ``jobs.promote_canary``, each once
    the pod promoted before it runs ready. ``expected_image``: refuse (``conflict``) unless the
    canary running is of that image (the job's guard against a canary aborted meanwhile)."""

    def edit(spec: DeploymentSpec) -> tuple[DeploymentSpec, str | None]:
        running = spec.entity(entity)
        image = canary_of(running).image if running and canary_of(running) else None
        if expected_image is not None and image != expected_image:
            raise ConflictError(f"the canary of {expected_image} on {entity} no longer runs")
        return _request_checked(edits.promote_step, spec, entity)

    result = _step(
        name, entity, "canary_promote", _promoted(entity), Origin(actor, interface), expected_version, edit
    )
    if follow and result.promoted is not None and result.canary is not None:
        args = [name, entity, result.promoted, result.canary.image]
        transaction.on_commit(lambda: current_app.send_task("jobs.promote_canary", args=args, countdown=1))
    return result


def abort_canary(
    name: str, entity: str, *, actor: User | None, interface: Interface, expected_version: int | None = None
) -> CanaryChange:
    """Every pod of ``entity`` back on the entity's current image (one change)."""

    def edit(spec: DeploymentSpec) -> tuple[DeploymentSpec, str | None]:
        return _request_checked(edits.abort_canary, spec, entity), None

    summary = f"canary on {entity} aborted: every pod back on the current image"
    return _step(
        name, entity, "canary_abort", lambda _: summary, Origin(actor, interface), expected_version, edit
    )


def stop_promotion(name: str, entity: str, pod: str) -> None:
    """The pod promoted last did not run ready in time: promotion stops where it is, audited."""
    with write_transaction():
        try:
            deployment = locked(name)
        except NotFoundError:
            return
        summary = f"promotion of the canary on {entity} stopped: {pod} did not run the new image in time"
        record_audit(deployment, Origin(None, Interface.SYSTEM), "canary_stopped", summary[:300], [])


def _promoted(entity: str) -> Callable[[tuple[Canary | None, str | None]], str]:
    def summary(step: tuple[Canary | None, str | None]) -> str:
        before, pod = step
        image = before.image if before else "?"
        if pod:
            return f"canary of {image} promoted to {pod} of {entity}"
        return f"canary of {image} promoted to every pod of {entity}: it is the entity's image now"

    return summary


def _step(
    name: str,
    entity: str,
    action: str,
    summary: Callable[[tuple[Canary | None, str | None]], str],
    origin: Origin,
    expected_version: int | None,
    edit: Edit,
) -> CanaryChange:
    with write_transaction():
        deployment = locked(name, expected_version)
        old = spec_from_rows(deployment)
        current = old.entity(entity)
        if current is None:
            raise NotFoundError("entity", entity, within=f"deployment {name!r}")
        new, promoted = edit(old)
        new = _validated(new)
        text = summary((canary_of(current), promoted))
        change = save_spec(deployment, old, new, origin=origin, action=action, summary=text)
        return CanaryChange(change, canary_of(new.entity(entity)), promoted)  # type: ignore[arg-type]
