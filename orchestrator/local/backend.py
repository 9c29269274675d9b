"""The local backend: the Backend protocol over a state directory instead of an API server.

A reconcile only writes desired objects (as JSON files) and reads back what the runtime
reports; it never starts a process, so pods outlive the reconcile and the worker that ran it.
The API server's bookkeeping that the reconcile phases rely on is reproduced here: a ``uid``
on create, ``metadata.generation`` raised when ``spec`` changes, ``status`` kept apart from
apply, compare-then-write (an unchanged manifest writes nothing), and owner references
followed when the root is deleted.
"""

from __future__ import annotations

import copy
import logging
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.local.memory import POD_MEMORY_BYTES, available_memory, memory_problem, pod_count
from orchestrator.local.store import FileCache, StateDir, StateDirError, template_hash
from orchestrator.planning.placement import Placement
from orchestrator.reconciler.backend import (
    MANAGED_KINDS,
    ApiCalls,
    Observed,
    PermanentError,
    PodState,
    RetryableError,
)
from orchestrator.reconciler.convert import LABEL_INSTANCE
from orchestrator.spec.merge_patch import merge_patch
from orchestrator.spec.model import KIND

log = logging.getLogger(__name__)
#: A runtime whose heartbeat is older than this is presumed gone; its pods' phase is Unknown.
RUNTIME_STALE_SECONDS = 10.0
_MANAGED_METADATA = ("labels", "annotations", "ownerReferences")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class LocalBackend:
    """Desired objects in ``state_dir``; pods run by ``python -m orchestrator.local.runtime``."""

    name = "local"

    def __init__(
        self, state_dir: Path, namespace: str = "default", pod_memory_bytes: int = POD_MEMORY_BYTES
    ) -> None:
        self.store = StateDir(Path(state_dir))
        self.namespace = namespace
        self.pod_memory_bytes = pod_memory_bytes
        self.calls = ApiCalls()
        self.placement = Placement()  # one machine, no nodes to choose between
        #: What observe reads, kept until a file changes (this backend's watch cache).
        self.files = FileCache()

    def ensure_root(self, root: dict[str, Any]) -> dict[str, Any]:
        """Refuses a spec whose added pods cannot fit the machine's memory (see
        :mod:`orchestrator.local.memory`) before anything of it is written or started."""
        self._check_memory(root)
        return self._apply(root)

    def apply(self, manifest: dict[str, Any], dry_run: bool = False) -> None:
        self._apply(manifest, dry_run)

    def delete(self, kind: str, name: str) -> None:
        with self._guard(), self.store.objects_lock():
            self.calls.writes += 1
            self.store.remove_object(self.namespace, kind, name)

    def write_status(self, deployment: str, status: dict[str, Any]) -> None:
        with self._guard(), self.store.objects_lock():
            self.calls.reads += 1
            root = self.store.read_object(self.namespace, KIND, deployment)
            if root is None:  # deleted meanwhile: nobody is left to read this status
                log.info("status of %s not written: its root object is gone", deployment)
                return
            patched = merge_patch(root.get("status"), status)
            if patched != root.get("status"):
                root["status"] = patched
                self._write(root)

    def delete_deployment(self, deployment: str) -> None:
        """Deletes the root, then (like the garbage collector) whatever its owner references reach."""
        with self._guard(), self.store.objects_lock():
            self.calls.reads += 1
            root = self.store.read_object(self.namespace, KIND, deployment)
            if root is None:
                return
            self._remove(root)
            self._delete_dependents({root["metadata"]["uid"]})

    def observe(self, deployment: str) -> Observed:
        """From the file cache: only files changed since the last observe are read (and counted
        as reads). The objects are shared with the cache: read-only."""
        with self._guard():
            before = self.files.reads
            root = self.files.read(self.store.object_path(self.namespace, KIND, deployment))
            pods = self._pod_statuses(deployment)
            objects = {kind: self._labelled(kind, deployment) for kind in MANAGED_KINDS}
            self.calls.reads += self.files.reads - before
        objects["Deployment"] = {
            name: {**workload, "status": deployment_status(workload, pods.get(name))}
            for name, workload in objects["Deployment"].items()
        }
        return Observed(root=root, objects=objects, pods=[pod_state(s) for s in pods.values()])

    def runtime_alive(self) -> bool:
        """Whether a runtime has reported within RUNTIME_STALE_SECONDS (what ``up`` waits for)."""
        beat = self.files.read(self.store.runtime_file) or {}
        return time.time() - float(beat.get("heartbeat", 0)) < RUNTIME_STALE_SECONDS

    def _apply(self, manifest: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        """Compare-then-write; a dry run validates and merges the same way and writes nothing."""
        with self._guard(), self.store.objects_lock():
            kind, name = manifest.get("kind", ""), manifest.get("metadata", {}).get("name", "")
            if manifest.get("metadata", {}).get("namespace", self.namespace) != self.namespace:
                raise StateDirError(f"{kind} {name} is in another namespace than {self.namespace!r}")
            self.calls.reads += 1
            current = self.store.read_object(self.namespace, kind, name)
            desired = merged(current, manifest, self.namespace)
            if desired != current and not dry_run:
                self._write(desired)
            return copy.deepcopy(desired)

    def _write(self, obj: dict[str, Any]) -> None:
        self.calls.writes += 1
        metadata = obj["metadata"]
        metadata["resourceVersion"] = str(int(metadata.get("resourceVersion", "0")) + 1)
        self.store.write_object(self.namespace, obj)

    def _remove(self, obj: dict[str, Any]) -> None:
        self.calls.writes += 1
        self.store.remove_object(self.namespace, obj["kind"], obj["metadata"]["name"])

    def _delete_dependents(self, owners: set[str]) -> None:
        while owners:
            self.calls.reads += len(MANAGED_KINDS)
            dependents = [
                obj
                for kind in MANAGED_KINDS
                for obj in self.store.list_objects(self.namespace, kind)
                if owners & {ref.get("uid") for ref in obj["metadata"].get("ownerReferences", [])}
            ]
            for obj in dependents:
                self._remove(obj)
            owners = {obj["metadata"]["uid"] for obj in dependents}

    def _labelled(self, kind: str, deployment: str) -> dict[str, dict[str, Any]]:
        directory = self.store.kind_dir(self.namespace, kind)
        by_instance = self.files.grouped(
            directory, lambda obj: obj["metadata"].get("labels", {}).get(LABEL_INSTANCE)
        )
        return dict(by_instance.get(deployment, {}))

    def _pod_statuses(self, deployment: str) -> dict[str, dict[str, Any]]:
        """Pod status by Deployment name; phase Unknown when no runtime reports any more. Pods
        being stopped are left out, as the Kubernetes backend leaves out pods being deleted."""
        alive = self.runtime_alive()
        found = {}
        directory = self.store.pod_status_dir(self.namespace)
        for status in (
            self.files.grouped(directory, lambda status: status.get("instance")).get(deployment, {}).values()
        ):
            if status.get("reason") != "Terminating":
                found[status["deployment"]] = (
                    status if alive else {**status, "phase": "Unknown", "ready": False}
                )
        return found

    def _check_memory(self, root: dict[str, Any]) -> None:
        with self._guard():
            running = len(self._pod_statuses(root["metadata"]["name"]))
        problem = memory_problem(max(0, pod_count(root) - running), available_memory(), self.pod_memory_bytes)
        if problem is not None:
            self.calls.errors += 1
            raise PermanentError(f"local backend refused the topology: {problem}")

    def _guard(self) -> Any:
        return _Guard(self.calls)


class _Guard:
    """Counts failed calls and turns storage errors into the protocol's two error kinds."""

    def __init__(self, calls: ApiCalls) -> None:
        self.calls = calls

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            return
        self.calls.errors += 1
        if isinstance(exc, StateDirError | KeyError | TypeError):
            raise PermanentError(f"local backend refused the object: {exc}") from exc
        if isinstance(exc, OSError):
            raise RetryableError(f"local state directory: {exc}") from exc


def merged(current: dict[str, Any] | None, manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    """``manifest`` as the API server would store it over ``current`` (None: a create)."""
    desired = {key: copy.deepcopy(value) for key, value in manifest.items() if key != "status"}
    metadata = {
        key: value for key, value in desired["metadata"].items() if key in ("name", *_MANAGED_METADATA)
    }
    metadata["namespace"] = namespace
    if current is None:
        metadata.update(uid=str(uuid.uuid4()), creationTimestamp=now_iso(), resourceVersion="0")
        if "spec" in desired:  # like the API server: kinds without a spec carry no generation
            metadata["generation"] = 1
    else:
        kept = ("uid", "creationTimestamp", "resourceVersion", "generation")
        metadata.update({key: current["metadata"][key] for key in kept if key in current["metadata"]})
        if "generation" in metadata and desired.get("spec") != current.get("spec"):
            metadata["generation"] += 1
        if "status" in current:
            desired["status"] = current["status"]
    desired["metadata"] = metadata
    return desired


def deployment_status(workload: dict[str, Any], pod: dict[str, Any] | None) -> dict[str, Any]:
    """A Deployment's status as the Deployment controller would derive it from its one pod."""
    status: dict[str, Any] = {"replicas": 0, "readyReplicas": 0, "updatedReplicas": 0, "availableReplicas": 0}
    if pod is None:
        return status
    updated = pod.get("templateHash") == template_hash(workload["spec"].get("template", {}))
    ready = int(bool(pod.get("ready")))
    status.update(replicas=1, readyReplicas=ready, updatedReplicas=int(updated), availableReplicas=ready)
    if pod.get("observedGeneration") is not None:
        status["observedGeneration"] = pod["observedGeneration"]
    return status


def pod_state(status: dict[str, Any]) -> PodState:
    return PodState(
        name=status["name"],
        uid=status["uid"],
        entity=status.get("entity", ""),
        pod=status.get("pod", ""),
        phase=status.get("phase", "Unknown"),
        ready=bool(status.get("ready")),
        restarts=int(status.get("restarts", 0)),
        metrics_url=status.get("metricsUrl"),
        reason=status.get("reason"),
        message=status.get("message"),
    )
