"""Automation's switch and its pause (issue 16, item 4).

Automation (the autoscaler's auto mode, to come) is opt-in per deployment. A rollback or any
change a person makes (an edit, an import, a move, a rebalance) pauses it until an operator
resumes it: automation must never undo a person's decision (Argo CD issue 9570). The pause
keeps why and since when, and both pausing and resuming are in the audit trail. Changes made
by automation itself (actions in :data:`AUTOMATION_ACTIONS`) do not pause it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from topology_editor.models import Deployment
from topology_editor.services.recording import Origin, record_audit

#: The audit actions of changes automation makes; every other change pauses it.
AUTOMATION_ACTIONS = frozenset({"autoscaler"})
FIELDS = ["automation_enabled", "automation_paused_since", "automation_paused_reason"]


@dataclass(frozen=True)
class Automation:
    enabled: bool
    paused_since: datetime | None
    paused_reason: str

    @property
    def paused(self) -> bool:
        return self.paused_since is not None


def automation_of(deployment: Deployment) -> Automation:
    return Automation(
        deployment.automation_enabled, deployment.automation_paused_since, deployment.automation_paused_reason
    )


def pause_for_change(deployment: Deployment, origin: Origin, action: str, revision: str) -> None:
    """Inside the change's transaction: pauses enabled, running automation unless automation
    made the change. An already paused one keeps its first reason and time."""
    if action in AUTOMATION_ACTIONS or not deployment.automation_enabled:
        return
    if deployment.automation_paused_since is not None:
        return
    what = "rollback" if action == "rollback" else f"manual change ({action})"
    reason = f"{what} by {origin.describe()}, revision {revision}"
    deployment.automation_paused_since = timezone.now()
    deployment.automation_paused_reason = reason[:300]
    deployment.save(update_fields=FIELDS[1:])
    record_audit(deployment, origin, "pause_automation", f"automation paused: {reason}", [], revision)
