"""One reconcile pass: observe → convert → plan → dry-run → apply → update status.

Every change the backend could refuse is dry-run before any is made, so a manifest the backend
rejects (a permanent error) leaves the last valid spec running untouched; a backend that
cannot be reached (a retryable error) is reported and left for the caller to retry. A pass
with nothing to change makes no API call at all: observe reads the backend's cache, and not
even the status is written.

A pass costs in proportion to what changed: convert reuses the manifests of every entity whose
spec did not change, and plan skips the comparisons whose answer cannot have changed (both kept
per backend, in this process, between passes).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from orchestrator.reconciler.backend import Backend, Observed, PermanentError, RetryableError
from orchestrator.reconciler.compare import satisfies
from orchestrator.reconciler.convert import ConvertCache, ConvertContext, OwnerRef, convert, root_object
from orchestrator.reconciler.epochs import Assignment, entity_epochs, observed_assignment
from orchestrator.reconciler.plan import Change, PlanMemo, limit_rollouts, plan_changes
from orchestrator.reconciler.status import Outcome, derive_status, status_changed
from orchestrator.reconciler.topics import TopicsReport, output_partitions, reconcile_topics
from orchestrator.spec.model import DeploymentSpec, to_manifest

#: How soon to look again while pods are still being replaced or created.
REQUEUE_SECONDS = 2.0
#: A ConfigMap update can be refused in practice only for its size (the API server's limit is
#: 1 MiB); above this much data it is dry-run like the writes that admission can refuse.
CONFIG_MAP_DRY_RUN_BYTES = 512 * 1024


@dataclass(frozen=True)
class Target:
    """The desired state of one deployment, as the control plane resolved it."""

    spec: DeploymentSpec
    revision: str
    revision_number: int
    state_url: str
    #: Reconcile the entities' Kafka topics too (``orchestrator.reconciler.topics``); the control plane sets
    #: it, callers that test or measure the backend alone leave Kafka out.
    manage_topics: bool = False


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
    topics: TopicsReport | None = None

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


class AssignmentMemo:
    """``observed_assignment`` of a live ConfigMap's data, remembered by the data object itself:
    the watch cache replaces an object when it changes and hands back the same one otherwise,
    so parsing every ``<pod>.json`` of every entity on every pass is not needed."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: dict[int, tuple[Mapping[str, str], tuple[Assignment, int]]] = {}

    def __call__(self, data: Mapping[str, str]) -> tuple[Assignment, int]:
        entry = self._entries.get(id(data))
        if entry is not None and entry[0] is data:
            return entry[1]
        result = observed_assignment(data)
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[id(data)] = (data, result)  # holds ``data``, so its id is not reused
        return result


@dataclass
class _Memory:
    """What one backend's passes keep between them in this process."""

    convert: ConvertCache = field(default_factory=ConvertCache)
    plan: PlanMemo = field(default_factory=PlanMemo)
    assignments: AssignmentMemo = field(default_factory=AssignmentMemo)


_MEMORIES: WeakKeyDictionary[Any, _Memory] = WeakKeyDictionary()


def _memory(backend: Backend) -> _Memory:
    try:
        return _MEMORIES.setdefault(backend, _Memory())
    except TypeError:  # a backend that cannot be weakly referenced: every pass starts afresh
        return _Memory()


def _run(target: Target, backend: Backend, result: ReconcileResult) -> None:
    if target.manage_topics and not result.dry_run:  # topics first: no pod starts on a missing one
        result.topics = reconcile_topics(target.spec)
        result.topics.raise_when_unreachable()  # a broker outage applies nothing and is retried
    memory = _memory(backend)
    observed = backend.observe(target.spec.name)
    root = root_object(target.spec, to_manifest(target.spec)["spec"], backend.namespace)
    owner = _owner(target, backend, observed, root, result.dry_run)
    ctx = _context(target, backend, observed, owner, memory, result.topics)
    desired = convert(target.spec, ctx, memory.convert)
    now, held = limit_rollouts(plan_changes(desired, observed, memory.plan), observed)
    result.changes, result.held = now, held
    if result.dry_run:
        return
    try:
        _apply_all(backend, now)
    except PermanentError:  # the root still records what was asked for; its status says why not
        with contextlib.suppress(RetryableError, PermanentError):
            _record_spec(backend, observed, root)
        raise
    _record_spec(backend, observed, root)
    if backend.calls.writes:  # the writes updated the backend's cache: read the result back
        observed = backend.observe(target.spec.name)
    _finish(target, backend, observed, result)


def _owner(
    target: Target, backend: Backend, observed: Observed, root: dict[str, Any], dry_run: bool
) -> OwnerRef | None:
    """The root object's identity; a missing root is created first (its uid owns the rest)."""
    live = observed.root
    if live is None and not dry_run:
        live = backend.ensure_root(root)
    uid = (live or {}).get("metadata", {}).get("uid")
    return OwnerRef(uid=uid, name=target.spec.name) if uid else None


def _record_spec(backend: Backend, observed: Observed, root: dict[str, Any]) -> None:
    """Writes the root's spec (or a label the watch selects it by) when it changed. An existing
    root is written after the objects it owns, so a move's ConfigMap is the pass's first write:
    nothing stands between a click and the pods' new assignment."""
    live = observed.root
    if live is not None and (live.get("spec") != root["spec"] or not _labelled(live, root)):
        backend.ensure_root(root)


def _context(
    target: Target,
    backend: Backend,
    observed: Observed,
    owner: OwnerRef | None,
    memory: _Memory,
    topics: TopicsReport | None = None,
) -> ConvertContext:
    return ConvertContext(
        namespace=backend.namespace,
        revision=target.revision,
        state_url=target.state_url,
        epochs=entity_epochs(target.spec, observed, target.revision_number, memory.assignments),
        owner=owner,
        output_partitions=output_partitions(target.spec, topics),
        placement=backend.placement,
    )


def _labelled(root: dict[str, Any], desired: dict[str, Any]) -> bool:
    return satisfies((root.get("metadata") or {}).get("labels") or {}, desired["metadata"]["labels"])


def needs_dry_run(change: Change) -> bool:
    """Whether the API server could refuse this write in practice: creates (quota, admission,
    name rules) and workload changes (admission policies, pod security, webhooks look at pod
    templates) can be; a ConfigMap's new data cannot, short of its size limit; deletes are not
    dry-run at all. Nor are RoleBindings: the only refusal they meet in practice is RBAC's
    escalation check, which asks whether the orchestrator holds what the bound Role grants; that
    is exactly what the Role's own write (or its dry run) checks, and a binding cannot even be
    dry-run before its Role exists (the API server answers 404)."""
    if change.manifest is None or change.kind == "RoleBinding":
        return False
    if change.kind == "ConfigMap" and change.action == "update":
        data = change.manifest.get("data") or {}
        return sum(len(key) + len(value) for key, value in data.items()) > CONFIG_MAP_DRY_RUN_BYTES
    return True


def _apply_all(backend: Backend, changes: list[Change]) -> None:
    """All or nothing against a refused manifest, paying for dry runs only where a refusal is
    possible: every such write is dry-run before anything is written, except the first write,
    whose refusal leaves everything as it was anyway. So a move (one ConfigMap) or a pod
    replacement (one workload) makes no dry run."""
    for change in changes[1:]:
        if needs_dry_run(change):
            backend.apply(change.manifest, dry_run=True)
    for change in changes:
        if change.action == "delete":
            backend.delete(change.kind, change.name)
        else:
            backend.apply(change.manifest)


def _finish(target: Target, backend: Backend, observed: Observed, result: ReconcileResult) -> None:
    previous = (observed.root or {}).get("status")
    outcome = Outcome(applied=result.changes, held=result.held, topics=result.topics)
    result.status = derive_status(target.spec, target.revision, observed, outcome, previous)
    if status_changed(previous, result.status):
        backend.write_status(target.spec.name, result.status)


def _record_failure(target: Target, backend: Backend, result: ReconcileResult) -> None:
    """Builds the Degraded/Failed status; writes it to the root too when the backend still answers."""
    outcome = Outcome(error=result.error, permanent=result.permanent, topics=result.topics)
    result.status = derive_status(target.spec, target.revision, Observed(), outcome, None)
    if result.dry_run:
        return
    # When even this fails, the control plane's own record (the caller's) still carries the status.
    with contextlib.suppress(RetryableError, PermanentError):
        backend.write_status(target.spec.name, result.status)
