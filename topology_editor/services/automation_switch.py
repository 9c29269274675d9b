"""An operator turning a deployment's automation on or off, or resuming it from a pause."""

from topology_editor.models import Interface
from topology_editor.services.automation import FIELDS, Automation, automation_of
from topology_editor.services.recording import Origin, User, record_audit
from topology_editor.services.saving import locked, write_transaction

_SUMMARIES = {
    "enable_automation": "automation enabled",
    "resume_automation": "automation resumed",
    "disable_automation": "automation disabled",
}


def set_automation(name: str, enabled: bool, *, actor: User | None, interface: Interface) -> Automation:
    """Turns automation on (which also resumes it from a pause) or off, recorded in the audit;
    asking for the state it is already in changes nothing and records nothing."""
    with write_transaction():
        deployment = locked(name)
        was_paused = deployment.automation_paused_since is not None
        if deployment.automation_enabled == enabled and not was_paused:
            return automation_of(deployment)
        deployment.automation_enabled = enabled
        deployment.automation_paused_since, deployment.automation_paused_reason = None, ""
        deployment.save(update_fields=FIELDS)
        if not enabled:
            action = "disable_automation"
        else:
            action = "resume_automation" if was_paused else "enable_automation"
        record_audit(deployment, Origin(actor, interface), action, _SUMMARIES[action], [])
        return automation_of(deployment)
