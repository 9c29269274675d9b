"""Making an earlier revision's spec the desired spec again."""

from orchestrator import parse_deployment
from topology_editor.models import Interface
from topology_editor.services.errors import NotFoundError
from topology_editor.services.limits import spec_limits
from topology_editor.services.recording import Origin, User
from topology_editor.services.saving import Change, locked, save_spec, write_transaction
from topology_editor.spec_rows import spec_from_rows


def roll_back(
    name: str, revision: str, *, actor: User | None, interface: Interface, expected_version: int | None = None
) -> Change:
    """Restores the spec of ``revision`` (validated again: the rules may have grown since it
    was saved); the revision is re-used with the next number. Rolling back to the desired
    spec's own revision changes nothing."""
    with write_transaction():
        deployment = locked(name, expected_version)
        stored = deployment.revisions.filter(name=revision).first()
        if stored is None:
            raise NotFoundError("revision", revision, within=f"deployment {name!r}")
        new = parse_deployment(stored.manifest, spec_limits())
        origin = Origin(actor, interface)
        summary = f"rolled back to revision {revision} (#{stored.number})"
        return save_spec(
            deployment, spec_from_rows(deployment), new, origin=origin, action="rollback", summary=summary
        )
