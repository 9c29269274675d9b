"""Dry-run reconciles described object by object and field by field, for ``manage.py reconcile
--dry-run`` and for the dashboard's rollback confirmation (``topology_editor.dry_run_hook``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from jobs.backends import get_backend
from orchestrator import parse_deployment
from orchestrator.reconciler.backend import Observed
from orchestrator.reconciler.reconcile import ReconcileResult, Target, reconcile
from orchestrator.spec.field_changes import describe_changes, field_changes


def describe_plan(result: ReconcileResult, observed: Observed | None) -> list[str]:
    """``update ConfigMap/x`` lines, each update followed by its field changes against the live
    object in ``observed`` (indented); held changes say so."""
    lines = []
    for change in [*result.changes, *result.held]:
        held = " (held: one pod replacement at a time)" if change in result.held else ""
        lines.append(f"{change.describe()}{held}")
        if observed is not None and change.action in ("update", "roll") and change.manifest:
            live = observed.get(change.kind, change.name)
            changes = field_changes(live, change.manifest)
            lines += [f"  {line}" for line in describe_changes(change.kind, change.name, changes)]
    return lines


def preview_spec(name: str, manifest: dict[str, Any], revision: str, number: int) -> list[str]:
    """What reconciling ``manifest`` as revision ``revision`` would change now; writes nothing."""
    target = Target(parse_deployment(manifest), revision, number, settings.INVOKER_STATE_REDIS_URL)
    backend = get_backend()
    result = reconcile(target, backend, dry_run=True)
    if result.error:
        raise RuntimeError(result.error)
    lines = describe_plan(result, backend.observe(name))
    return lines or ["nothing to change"]
