"""Creating, replacing, editing, importing and deleting whole deployments."""

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from orchestrator import DeploymentSpec, SpecError, diff_specs, parse_deployment, to_manifest
from topology_editor import reconcile_hook
from topology_editor.layout import layout_of
from topology_editor.models import Deployment, Interface
from topology_editor.services.errors import ConflictError
from topology_editor.services.handover import hand_over_removed
from topology_editor.services.limits import spec_limits
from topology_editor.services.partitions import moves_between
from topology_editor.services.recording import Origin, User, record_audit
from topology_editor.services.saving import Change, locked, save_spec, write_transaction
from topology_editor.spec_rows import spec_from_rows, stored_manifest

Manifest = dict[str, Any]


def create_deployment(manifest: object, *, actor: User | None, interface: Interface) -> Change:
    """A new deployment from a custom-resource manifest; :class:`ConflictError` if the name is taken."""
    spec = parse_deployment(manifest, spec_limits())
    layout = layout_of(manifest)
    with write_transaction():
        return _keep_layout(_create(spec, Origin(actor, interface)), layout)


def _keep_layout(change: Change, layout: str | None) -> Change:
    """Stores the editor's node positions (an annotation, not the spec: no revision) with the change."""
    if layout is not None and layout != change.deployment.layout:
        change.deployment.layout = layout
        Deployment.objects.filter(pk=change.deployment.pk).update(layout=layout)
    return change


def _create(spec: DeploymentSpec, origin: Origin) -> Change:
    deployment = Deployment(name=spec.name)
    try:
        with transaction.atomic():  # a savepoint inside the caller's write transaction
            deployment.save()
    except IntegrityError:
        raise ConflictError(f"a deployment named {spec.name!r} already exists") from None
    return save_spec(deployment, None, spec, origin=origin, action="create", summary=f"created {spec.name}")


def update_deployment(
    name: str,
    manifest: object,
    *,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Change:
    """Replaces the whole spec of ``name`` with ``manifest`` (whose name must be ``name``), and
    the node positions when it has the layout annotation."""
    layout = layout_of(manifest)
    with write_transaction():
        change = edit_deployment(
            name, lambda _: manifest, actor=actor, interface=interface, expected_version=expected_version
        )
        return _keep_layout(change, layout)


def edit_deployment(
    name: str,
    edit: Callable[[Manifest], object],
    *,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
    summary: str = "",
) -> Change:
    """Stores ``edit(current canonical manifest)`` as the spec of ``name``; what every change
    of a part of a spec (an entity, a pod, a merge patch) goes through."""
    with write_transaction():
        deployment = locked(name, expected_version)
        old = spec_from_rows(deployment)
        new = parse_deployment(edit(to_manifest(old)), spec_limits())
        _require_name(name, new)
        origin = Origin(actor, interface)
        summary = summary or "; ".join(["updated the spec", *moves_between(old, new)])
        new = hand_over_removed(name, old, new, "update")
        return save_spec(deployment, old, new, origin=origin, action="update", summary=summary)


def _require_name(name: str, spec: DeploymentSpec) -> None:
    if spec.name != name:
        message = f"a deployment cannot be renamed: this is {name!r}, not {spec.name!r}"
        raise SpecError.single("metadata.name", message, "immutable")


def import_manifest(
    manifest: object, *, actor: User | None, interface: Interface, expected_version: int | None = None
) -> Change:
    """Creates the deployment ``manifest`` names, or replaces its spec if it exists."""
    spec = parse_deployment(manifest, spec_limits())
    layout = layout_of(manifest)
    with write_transaction():
        if not Deployment.objects.filter(name=spec.name).exists():
            return _keep_layout(_create(spec, Origin(actor, interface)), layout)
        deployment = locked(spec.name, expected_version)
        origin = Origin(actor, interface)
        old = spec_from_rows(deployment)
        change = save_spec(
            deployment,
            old,
            hand_over_removed(spec.name, old, spec, "import"),
            origin=origin,
            action="import",
            summary="imported a manifest",
        )
        return _keep_layout(change, layout)


def delete_deployment(
    name: str, *, actor: User | None, interface: Interface, expected_version: int | None = None
) -> None:
    """Deletes ``name`` with its revisions and runs; its audit trail stays, and a reconcile
    removes what runs."""
    with write_transaction():
        deployment = locked(name, expected_version)
        origin = Origin(actor, interface)
        record_audit(
            deployment, origin, "delete", f"deleted {name}", diff_specs(stored_manifest(deployment), {})
        )
        deployment.delete()
        reason = f"delete by {origin.describe()}"
        transaction.on_commit(lambda: reconcile_hook.request_reconcile(name, reason))
