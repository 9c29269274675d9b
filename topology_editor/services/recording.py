"""What every change leaves behind: its revision (hash-named, re-used, pruned) and its audit
entry (who, through which interface, the structural diff)."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from orchestrator import DeploymentSpec, SpecChange, revision_name, to_manifest
from topology_editor.models import AuditEntry, Deployment, Interface, Revision

User = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class Origin:
    """Who asked for a change, and through which interface."""

    actor: User | None
    interface: Interface

    @property
    def user(self) -> AbstractBaseUser | None:
        """The actor as something a foreign key can hold (``None`` for anonymous or system)."""
        return self.actor if self.actor is not None and self.actor.is_authenticated else None

    @property
    def name(self) -> str:
        user = self.user
        return user.get_username() if user is not None else self.interface.label

    def describe(self) -> str:
        user = self.user
        return f"{user.get_username()} via {self.interface.label}" if user else f"the {self.interface.label}"


def record_revision(deployment: Deployment, spec: DeploymentSpec, origin: Origin) -> Revision:
    """The revision of ``spec``, now the newest: created, or re-used with the next number."""
    name = revision_name(spec)
    latest = deployment.revisions.order_by("-number").first()
    if latest is not None and latest.name == name:
        return latest
    number = latest.number + 1 if latest is not None else 1
    revision = deployment.revisions.filter(name=name).first()
    if revision is None:
        revision = Revision.objects.create(
            deployment=deployment,
            name=name,
            number=number,
            manifest=to_manifest(spec),
            created_by=origin.user,
        )
    else:
        revision.number = number
        revision.save(update_fields=["number"])
    prune_revisions(deployment, keep=name)
    return revision


def prune_revisions(deployment: Deployment, keep: str) -> None:
    """Deletes revisions beyond ``history_limit``, oldest first, never ``keep`` (the desired
    spec's) nor those the orchestrator reports as current or next."""
    protected = {keep, deployment.current_revision, deployment.next_revision}
    older = deployment.revisions.order_by("-number")[deployment.history_limit :]
    doomed = [revision.pk for revision in older if revision.name not in protected]
    Revision.objects.filter(pk__in=doomed).delete()


def record_audit(
    deployment: Deployment,
    origin: Origin,
    action: str,
    summary: str,
    changes: list[SpecChange] | list[dict[str, Any]],
    revision: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        deployment=deployment,
        deployment_name=deployment.name,
        actor=origin.user,
        actor_name=origin.name,
        interface=origin.interface,
        action=action,
        summary=summary,
        changes=changes,
        revision=revision,
    )
