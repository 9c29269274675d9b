"""The one way a new spec is stored: lock, check the version, compare, write the rows, record
the revision and the audit entry, and ask for a reconcile once the transaction commits."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import OperationalError, transaction

from orchestrator import DeploymentSpec, SpecChange, diff_specs, revision_name, to_manifest
from topology_editor import reconcile_hook, roles
from topology_editor.models import Deployment, Revision
from topology_editor.services.automation import pause_for_change
from topology_editor.services.errors import (
    BusyError,
    ConflictError,
    NotFoundError,
    RoleError,
    StaleVersionError,
)
from topology_editor.services.recording import Origin, record_audit, record_revision
from topology_editor.spec_rows import write_spec_rows


@dataclass(frozen=True)
class Change:
    """What a service call did. ``changed`` is false for a save that changed nothing (then no
    revision, audit entry or reconcile was recorded); ``revision`` is the desired spec's."""

    deployment: Deployment
    spec: DeploymentSpec
    revision: Revision | None
    changed: bool
    created: bool = False
    changes: list[SpecChange] = field(default_factory=list)


#: PostgreSQL's lock_timeout, deadlock and serialization failures: another write was in the way.
_LOCK_SQLSTATES = {"55P03", "40P01", "40001"}


@contextmanager
def write_transaction() -> Iterator[None]:
    """``transaction.atomic()`` for a change, turning "another write held the lock for longer
    than ``DATABASE_LOCK_TIMEOUT_SECONDS``" into :class:`BusyError` (the transaction was rolled
    back, so nothing changed) rather than letting it surface as a server error."""
    try:
        with transaction.atomic():
            yield
    except OperationalError as error:
        if not _is_lock_conflict(error):
            raise
        raise BusyError() from error


def _is_lock_conflict(error: OperationalError) -> bool:
    if getattr(error.__cause__, "sqlstate", None) in _LOCK_SQLSTATES:
        return True
    return "database is locked" in str(error) or "database table is locked" in str(error)  # SQLite


def locked(name: str, expected_version: int | None = None) -> Deployment:
    """The deployment row, locked until the transaction ends, at ``expected_version`` if given."""
    deployment = Deployment.objects.select_for_update().filter(name=name).first()
    if deployment is None:
        raise NotFoundError("deployment", name)
    check_version(deployment, expected_version)
    return deployment


def check_version(deployment: Deployment, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != deployment.resource_version:
        raise StaleVersionError(deployment.name, expected_version, deployment.resource_version)


def desired_revision(deployment: Deployment) -> Revision | None:
    return deployment.revisions.order_by("-number").first()


def save_spec(
    deployment: Deployment,
    old: DeploymentSpec | None,
    new: DeploymentSpec,
    *,
    origin: Origin,
    action: str,
    summary: str,
) -> Change:
    """Stores ``new`` over ``old`` (``None`` for a new deployment) inside the caller's
    transaction. Identical specs store nothing; specs that differ only in order or notation
    (the same revision) store the rows but need no new revision and no reconcile. A change
    whose result is an earlier revision is a rollback, whatever the interface called it."""
    if old == new:
        return Change(deployment, new, desired_revision(deployment), changed=False)
    if old is not None and action != "rollback":
        require_rollback_role(deployment, new, origin)
    refuse_bad_revision(deployment, new)
    if old is not None:
        deployment.resource_version += 1
    write_spec_rows(deployment, new)
    revision = record_revision(deployment, new, origin)
    changes = diff_specs(to_manifest(old) if old else {}, to_manifest(new))
    record_audit(deployment, origin, action, summary, changes, revision.name)
    if old is not None:
        pause_for_change(deployment, origin, action, revision.name)
    if old is None or revision_name(old) != revision.name:
        # What changed comes first ("moved partition 3 of splitter from ..."): it is the run's trigger.
        reason = f"{summary} ({action} by {origin.describe()}, revision {revision.name})"
        transaction.on_commit(lambda: reconcile_hook.request_reconcile(deployment.name, reason))
    return Change(deployment, new, revision, changed=True, created=old is None, changes=changes)


def refuse_bad_revision(deployment: Deployment, new: DeploymentSpec) -> None:
    """No change, whoever makes it (a rollback, a save, a rebalance, automation), may make a
    revision an operator marked bad the desired spec again (services/bad_revisions.py)."""
    bad = deployment.revisions.filter(name=revision_name(new), bad_since__isnull=False).first()
    if bad is None:
        return
    who = bad.bad_by.get_username() if bad.bad_by else "an operator"
    raise ConflictError(
        f"revision {bad.name} (#{bad.number}) of {deployment.name!r} was marked bad by {who} at "
        f"{bad.bad_since.isoformat(timespec='seconds')} ({bad.bad_reason}): "
        "it cannot become the desired spec again"
    )


def require_rollback_role(deployment: Deployment, new: DeploymentSpec, origin: Origin) -> None:
    """Rolling back needs the operator role; an editor who saves (PUT, PATCH, import, the
    editor's Save) an earlier revision's spec again would roll back all the same, so any change
    whose result is a stored revision other than the desired one needs that role too. System
    callers (``actor`` None: commands, tasks) may."""
    actor = origin.actor
    if actor is None or actor.has_perm(roles.ROLLBACK):
        return
    name = revision_name(new)
    desired = desired_revision(deployment)
    earlier = deployment.revisions.filter(name=name).first()
    if earlier is None or (desired is not None and desired.name == name):
        return
    raise RoleError(
        f"this spec is revision {name} (#{earlier.number}), an earlier spec of {deployment.name!r}: "
        "restoring it is a rollback, which needs the operator role"
    )
