"""A deployment's revisions as the dashboard shows them: who made each, through what trigger, when
it was made and when it was last reapplied, and the diff of any two specs.

A revision row keeps its ``created_at`` when it becomes the desired spec again (a rollback only
raises its ``number``), so the time it was *reapplied* is read from the audit trail: every change
that stored a spec left an entry naming the revision it made desired. Walking those entries in
time order, each entry whose revision differs from the one before is an *application* of that
revision; the first is its creation, the last (if later) its reapplication. The audit trail is
used rather than new columns because it already holds who, how and when, for every interface.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator import SpecChange, diff_specs, dump_manifest_yaml
from topology_editor.models import AuditEntry, Deployment, Interface, ReconcileRun, Revision
from topology_editor.spec_rows import canonical_manifest, stored_manifest

#: Audit actions that name a revision without making it the desired spec.
NOT_APPLYING = frozenset({"pause_automation", "mark_bad", "delete"})
#: Triggers named by the action; every other change is named by the interface it came through.
ACTION_TRIGGERS = {
    "rollback": "rollback",
    "rebalance": "rebalance",
    "autoscaler": "autoscaler",
    "autoscale": "autoscaler (approved)",
    "drain": "drain",
    "canary": "canary",
    "canary_promote": "canary promote",
    "canary_abort": "canary abort",
}
INTERFACE_TRIGGERS = {
    Interface.UI: "editor",
    Interface.API: "API",
    Interface.ADMIN: "admin",
    Interface.CLI: "CLI",
    Interface.SYSTEM: "system",
}
#: The name the diff pages give the saved spec, in place of a revision name.
CURRENT = "current"


def trigger_of(action: str, interface: str) -> str:
    """``rollback``, ``rebalance`` or ``autoscaler`` by the action, else ``editor``, ``API``,
    ``admin``, ``CLI`` or ``system`` by the interface the change came through."""
    if action in ACTION_TRIGGERS:
        return ACTION_TRIGGERS[action]
    return INTERFACE_TRIGGERS.get(interface, interface)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Application:
    """One time a revision became the desired spec."""

    at: datetime
    by: str
    trigger: str


@dataclass(frozen=True)
class RevisionRow:
    revision: Revision
    created: Application
    reapplied: Application | None
    desired: bool
    running: bool


def revision_rows(deployment: Deployment) -> list[RevisionRow]:
    """The stored revisions of ``deployment``, the desired one first (highest number)."""
    revisions = list(deployment.revisions.select_related("created_by").order_by("-number"))
    since = min((revision.created_at for revision in revisions), default=None)
    applied = applications(deployment, since)
    desired = revisions[0].name if revisions else None
    rows = []
    for revision in revisions:
        made = applied.get(revision.name) or [_unaudited(revision)]
        rows.append(
            RevisionRow(
                revision=revision,
                created=made[0],
                reapplied=made[-1] if len(made) > 1 else None,
                desired=revision.name == desired,
                running=revision.name == deployment.current_revision,
            )
        )
    return rows


def applications(deployment: Deployment, since: datetime | None = None) -> dict[str, list[Application]]:
    """Each revision's applications in time order, from the deployment's audit trail.

    ``since`` (the creation of the oldest revision kept) bounds the walk: a revision's audit
    entry is written after the revision in the same transaction, so the first entry from then
    on is that revision's creation, and older entries concern pruned revisions only."""
    entries = (
        deployment.audit_entries.all()
        if since is None
        else deployment.audit_entries.filter(created_at__gte=since)
    )
    entries = (
        entries.exclude(revision="")
        .exclude(action__in=NOT_APPLYING)
        .order_by("created_at", "id")
        .values_list("revision", "action", "interface", "actor_name", "created_at")
    )
    result: dict[str, list[Application]] = defaultdict(list)
    previous = None
    for revision, action, interface, actor, at in entries:
        if revision != previous:
            result[revision].append(Application(at=at, by=actor, trigger=trigger_of(action, interface)))
        previous = revision
    return result


def _unaudited(revision: Revision) -> Application:
    """A revision whose creation left no audit entry (made before the audit trail existed)."""
    by = revision.created_by.get_username() if revision.created_by else ""
    return Application(at=revision.created_at, by=by, trigger="")


@dataclass(frozen=True)
class SpecDiff:
    """Two specs compared: the unified diff of their canonical YAML and the structural changes."""

    old_label: str
    new_label: str
    lines: list[str]
    changes: list[SpecChange]

    @property
    def same(self) -> bool:
        return not self.lines


def manifest_of(deployment: Deployment, name: str) -> dict[str, Any]:
    """The canonical manifest of revision ``name``, or of the saved spec for :data:`CURRENT`.

    Raises ``Revision.DoesNotExist`` for a name that is neither."""
    if name == CURRENT:
        return canonical_manifest(stored_manifest(deployment))
    return canonical_manifest(deployment.revisions.get(name=name).manifest)


def spec_diff(deployment: Deployment, old: str, new: str) -> SpecDiff:
    """From ``old`` to ``new`` (revision names or :data:`CURRENT`), by ``difflib``."""
    before, after = manifest_of(deployment, old), manifest_of(deployment, new)
    lines = difflib.unified_diff(
        dump_manifest_yaml(before).splitlines(),
        dump_manifest_yaml(after).splitlines(),
        fromfile=old,
        tofile=new,
        lineterm="",
    )
    return SpecDiff(old, new, list(lines), diff_specs(before, after))


#: The newest entries of each kind a timeline shows.
TIMELINE_LIMIT = 200
#: The timeline's filters, from the query string: ``kind`` (change or reconcile), ``action``,
#: ``interface``, ``actor`` and ``result`` (a reconcile's).
TIMELINE_FILTERS = ("kind", "action", "interface", "actor", "result")


@dataclass(frozen=True)
class TimelineItem:
    """One line of a deployment's timeline: a change (an audit entry) or a reconcile run."""

    at: datetime
    kind: str
    entry: AuditEntry | None = None
    run: ReconcileRun | None = None


def timeline(deployment: Deployment, filters: dict[str, str]) -> list[TimelineItem]:
    """Changes and reconcile runs of ``deployment``, newest first, narrowed by ``filters``
    (empty values are ignored); at most :data:`TIMELINE_LIMIT` of each kind, and only back to
    where both kinds are complete: runs come far more often than changes, so without that cut
    the tail would show old changes with no run among them, as if none had run."""
    kind = filters.get("kind", "")
    items: list[TimelineItem] = []
    cut_at: list[datetime] = []  # the oldest time of each kind that hit its limit
    if kind in ("", "change") and not filters.get("result"):
        entries = deployment.audit_entries.all()
        for field in ("action", "interface"):
            if filters.get(field):
                entries = entries.filter(**{field: filters[field]})
        if filters.get("actor"):
            entries = entries.filter(actor_name__icontains=filters["actor"])
        changes = [TimelineItem(e.created_at, "change", entry=e) for e in entries[:TIMELINE_LIMIT]]
        cut_at += [changes[-1].at] if len(changes) == TIMELINE_LIMIT else []
        items += changes
    if kind in ("", "reconcile") and not any(filters.get(f) for f in ("action", "interface", "actor")):
        runs = deployment.reconcile_runs.all()
        if filters.get("result"):
            runs = runs.filter(result=filters["result"])
        reconciles = [TimelineItem(r.started_at, "reconcile", run=r) for r in runs[:TIMELINE_LIMIT]]
        cut_at += [reconciles[-1].at] if len(reconciles) == TIMELINE_LIMIT else []
        items += reconciles
    since = max(cut_at, default=None)
    return sorted((i for i in items if since is None or i.at >= since), key=lambda i: i.at, reverse=True)
