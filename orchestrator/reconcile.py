"""One reconcile pass: observe → convert → plan → dry-run → apply → update status.

Every change is dry-run against the backend before any is made, so a manifest the backend
rejects (a permanent error) leaves the last valid spec running untouched; a backend that
cannot be reached (a retryable error) is reported and left for the caller to retry. A pass
with nothing to change makes no write at all, not even of the status.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from orchestrator.backend import Backend, Observed, PermanentError, RetryableError
from orchestrator.convert import ConvertContext, OwnerRef, convert, root_object
from orchestrator.epochs import entity_epochs
from orchestrator.plan import Change, limit_rollouts, plan_changes
from orchestrator.spec import DeploymentSpec, to_manifest
from orchestrator.update import Outcome, derive_status, status_changed

#: How soon to look again while pods are still being replaced or created.
REQUEUE_SECONDS = 2.0


@dataclass(frozen=True)
class Target:
    """The desired state of one deployment, as the control plane resolved it."""

    spec: DeploymentSpec
    revision: str
    revision_number: int
    state_url: str


@dataclass
class ReconcileResult:
    """What a pass did, for the reconcile-run record, the metrics and the status."""

    deployment: str
    revision: str
    changes: list[Change] = field(default_factory=list)
    held: list[Change] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    reads: int = 0
    writes: int = 0
    duration_ms: float = 0.0
    error: str | None = None
    permanent: bool = False
    dry_run: bool = False

    @property
    def requeue_after(self) -> float | None:
        """Seconds until the next pass should run, when the work is not finished."""
        if self.error and not self.permanent:
            return None  # the caller retries with back-off
        return REQUEUE_SECONDS if self.held or self.status.get("state") in ("Upgrading", "Pending") else None

    @property
    def result(self) -> str:
        if self.error:
            return "failed" if self.permanent else "error"
        return "changed" if self.changes else "noop"


def reconcile(target: Target, backend: Backend, dry_run: bool = False) -> ReconcileResult:
    """Runs one pass; raises nothing the backend raises, it is all in the result."""
    started = time.perf_counter()
    backend.calls.reset()
    result = ReconcileResult(target.spec.name, target.revision, dry_run=dry_run)
    try:
        _run(target, backend, result)
    except (RetryableError, PermanentError) as exc:
        result.error, result.permanent = str(exc), isinstance(exc, PermanentError)
        _record_failure(target, backend, result)
    result.reads, result.writes = backend.calls.reads, backend.calls.writes
    result.duration_ms = (time.perf_counter() - started) * 1000
    return result


def _run(target: Target, backend: Backend, result: ReconcileResult) -> None:
    observed = backend.observe(target.spec.name)
    owner = _owner(target, backend, observed, result.dry_run)
    desired = convert(target.spec, _context(target, backend, observed, owner))
    now, held = limit_rollouts(plan_changes(desired, observed), observed)
    result.changes, result.held = now, held
    if result.dry_run:
        return
    _apply_all(backend, now)
    _finish(target, backend, observed if not now else backend.observe(target.spec.name), result)


def _owner(target: Target, backend: Backend, observed: Observed, dry_run: bool) -> OwnerRef | None:
    """The root object's identity, creating or updating the root when its spec changed."""
    desired = root_object(target.spec, to_manifest(target.spec)["spec"], backend.namespace)
    root = observed.root
    if not dry_run and (root is None or root.get("spec") != desired["spec"]):
        root = backend.ensure_root(desired)
    uid = (root or {}).get("metadata", {}).get("uid")
    return OwnerRef(uid=uid, name=target.spec.name) if uid else None


def _context(target: Target, backend: Backend, observed: Observed, owner: OwnerRef | None) -> ConvertContext:
    return ConvertContext(
        namespace=backend.namespace,
        revision=target.revision,
        state_url=target.state_url,
        epochs=entity_epochs(target.spec, observed, target.revision_number),
        owner=owner,
    )


def _apply_all(backend: Backend, changes: list[Change]) -> None:
    for change in changes:  # validate everything first: all or nothing
        if change.manifest is not None:
            backend.apply(change.manifest, dry_run=True)
    for change in changes:
        if change.action == "delete":
            backend.delete(change.kind, change.name)
        else:
            backend.apply(change.manifest)


def _finish(target: Target, backend: Backend, observed: Observed, result: ReconcileResult) -> None:
    previous = (observed.root or {}).get("status")
    outcome = Outcome(applied=result.changes, held=result.held)
    result.status = derive_status(target.spec, target.revision, observed, outcome, previous)
    if status_changed(previous, result.status):
        backend.write_status(target.spec.name, result.status)


def _record_failure(target: Target, backend: Backend, result: ReconcileResult) -> None:
    """Builds the Degraded/Failed status; writes it to the root too when the backend still answers."""
    outcome = Outcome(error=result.error, permanent=result.permanent)
    result.status = derive_status(target.spec, target.revision, Observed(), outcome, None)
    if result.dry_run:
        return
    # When even this fails, the control plane's own record (the caller's) still carries the status.
    with contextlib.suppress(RetryableError, PermanentError):
        backend.write_status(target.spec.name, result.status)
