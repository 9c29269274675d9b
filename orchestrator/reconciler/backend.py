"""The seam between the reconcile phases and where pods run (a Kubernetes API, or local processes).

Both backends take the same manifests (from `orchestrator.reconciler.convert`) and answer observe with
the same plain shapes, so observe/update/reconcile are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestrator.planning.placement import Placement


class RetryableError(Exception):
    """The backend could not be reached or answered with a transient failure: try again later."""


class PermanentError(Exception):
    """The backend refused a manifest: retrying the same spec cannot succeed."""


@dataclass
class ApiCalls:
    """API calls made during one reconcile, split into reads and writes."""

    reads: int = 0
    writes: int = 0
    errors: int = 0

    def reset(self) -> None:
        self.reads = self.writes = self.errors = 0


@dataclass
class PodState:
    """One running (or not) pod as a backend reports it: ``phase`` is Pending, Running, CrashLoop,
    Failed or Unknown (``orchestrator.reconciler.health``), ``reason``/``message`` say why it is not plainly
    running, e.g. ("ImageNotRunnable", "no command for ...")."""

    name: str
    uid: str
    entity: str
    pod: str
    phase: str
    ready: bool
    restarts: int = 0
    metrics_url: str | None = None
    reason: str | None = None
    message: str | None = None


@dataclass
class Observed:
    """The live objects of one deployment, keyed by kind then name."""

    root: dict[str, Any] | None = None
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    pods: list[PodState] = field(default_factory=list)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(kind, {}).get(name)


#: The kinds convert produces, in the order they are created (ConfigMaps and the pods' access to
#: them before the pods that use them); deletes go in the reverse order.
MANAGED_KINDS = ("ConfigMap", "ServiceAccount", "Role", "RoleBinding", "Deployment")


class Backend(Protocol):
    """What a place that runs pods must offer the reconcile phases."""

    name: str
    namespace: str
    calls: ApiCalls
    #: The nodeSelector and tolerations of every pod (empty where the backend has no nodes).
    placement: Placement

    def ensure_root(self, root: dict[str, Any]) -> dict[str, Any]:
        """Creates or updates the deployment's root object; returns it as stored (with its uid)."""

    def observe(self, deployment: str) -> Observed:
        """Reads the root object, every object labelled with the deployment, and its pods."""

    def apply(self, manifest: dict[str, Any], dry_run: bool = False) -> None:
        """Creates the object or makes the managed fields equal to ``manifest``.

        With ``dry_run`` the backend validates the manifest as it would on a real write and
        changes nothing: the reconcile phase dry-runs every change before making any, so a
        manifest the backend rejects leaves the last valid spec running untouched.
        """

    def delete(self, kind: str, name: str) -> None:
        """Deletes one object; absent is fine."""

    def write_status(self, deployment: str, status: dict[str, Any]) -> None:
        """Records the derived status on the root object, where cluster users see it."""

    def delete_deployment(self, deployment: str) -> None:
        """Deletes the root object; everything it owns goes with it."""
