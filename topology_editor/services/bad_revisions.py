"""Marking a revision bad: an operator's verdict that its spec must not run again.

Once marked, no change may make that spec the desired one again: a rollback to it is refused,
and so is any save (an editor's, a rebalance's, an automation's) whose result is that revision
(:func:`topology_editor.services.saving.save_spec` checks every change). The mark stays; it is
recorded in the audit trail with who marked it, when and why.
"""

from django.utils import timezone

from orchestrator import FieldError
from topology_editor.models import Interface, Revision
from topology_editor.services.errors import InvalidRequestError, NotFoundError
from topology_editor.services.recording import Origin, User, record_audit
from topology_editor.services.saving import locked, write_transaction

MAX_REASON = 500


def mark_revision_bad(
    name: str, revision: str, reason: str, *, actor: User | None, interface: Interface
) -> tuple[Revision, bool]:
    """Marks ``revision`` of ``name`` bad, for ``reason`` (required: the next operator needs to
    know why). Returns the revision and whether it was newly marked; marking it again changes
    nothing and records nothing."""
    reason = reason.strip()
    if not reason:
        raise InvalidRequestError([FieldError("reason", "say why the revision is bad", "required")])
    if len(reason) > MAX_REASON:
        message = f"the reason is {len(reason)} characters; at most {MAX_REASON}"
        raise InvalidRequestError([FieldError("reason", message, "max_length")])
    with write_transaction():
        deployment = locked(name)
        stored = deployment.revisions.filter(name=revision).first()
        if stored is None:
            raise NotFoundError("revision", revision, within=f"deployment {name!r}")
        if stored.bad_since is not None:
            return stored, False
        origin = Origin(actor, interface)
        stored.bad_since, stored.bad_reason, stored.bad_by = timezone.now(), reason, origin.user
        stored.save(update_fields=["bad_since", "bad_reason", "bad_by"])
        summary = f"marked revision {stored.name} (#{stored.number}) bad: {reason}"
        record_audit(deployment, origin, "mark_bad", summary, [], stored.name)
        return stored, True
