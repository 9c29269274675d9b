"""Every call to the `kubernetes` package goes through here (STYLE.md #10).

One seam gives one place to count API calls per reconcile, to map the client's exceptions
onto retryable/permanent errors, and to patch in tests. Writes use server-side apply with the
field manager ``invoker``; a conflict with another manager (someone edited a field by hand)
is taken back with ``force``, which is how drift is repaired.

Reads come from a watch cache (``watch_cache.py``) of everything labelled
``app.kubernetes.io/name=invoker`` in the namespace: a pass makes no read of its own, and every
write puts the object the API server returned back in the cache.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from orchestrator.planning.placement import Placement
from orchestrator.reconciler.backend import (
    MANAGED_KINDS,
    ApiCalls,
    Observed,
    PermanentError,
    PodState,
    RetryableError,
)
from orchestrator.reconciler.convert import (
    LABEL_ENTITY,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    LABEL_POD,
    METRICS_PORT,
)
from orchestrator.reconciler.health import kube_pod_health
from orchestrator.reconciler.watch_cache import Source, WatchCache, strip_managed_fields
from orchestrator.spec.model import API_VERSION, KIND

log = logging.getLogger(__name__)
T = TypeVar("T")
GROUP, VERSION = API_VERSION.split("/")
PLURAL = "invokerdeployments"
FIELD_MANAGER = "invoker"
APPLY_HEADERS = {"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"}
#: Where each managed kind lives in the API (the converter produces only these).
KIND_PATHS = {
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
}
#: Statuses worth retrying: throttling, timeouts and server-side failures.
RETRYABLE_STATUSES = {408, 429, 500, 502, 503, 504}
REQUEST_TIMEOUT = (3.0, 15.0)
#: Everything the orchestrator makes carries these labels, and the pods inherit them: one
#: selector for every watch. ``managed-by`` keeps out what merely shares the name, such as the
#: Helm chart's own workloads (``app.kubernetes.io/name: invoker`` too, ``managed-by: Helm``,
#: and an ``instance`` label that may equal a deployment's name).
WATCH_SELECTOR = f"{LABEL_NAME}=invoker,{LABEL_MANAGED_BY}=invoker"
#: How long a pass waits for the cache's first list (a fresh worker process) before it gives up
#: with a retryable error, and for a broken watch to reconnect.
SYNC_TIMEOUT_SECONDS = 30.0
RECONNECT_GRACE_SECONDS = 3.0


def load_api_client(kubeconfig: str | None = None, in_cluster: bool = False) -> client.ApiClient:
    """A client from the pod's service account or from a kubeconfig file."""
    if in_cluster:
        config.load_incluster_config()
        return client.ApiClient()
    return config.new_client_from_config(config_file=kubeconfig)


class KubernetesBackend:
    """The `Backend` for a real cluster: namespaced, owner-referenced, server-side applied."""

    name = "kubernetes"

    def __init__(
        self, api_client: client.ApiClient, namespace: str = "default", placement: Placement | None = None
    ) -> None:
        """``placement``: the nodeSelector and tolerations every pod template gets (placement.py)."""
        self.namespace = namespace
        self.placement = placement or Placement()
        self.calls = ApiCalls()
        self.api = api_client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.rbac = client.RbacAuthorizationV1Api(api_client)
        self._cache: WatchCache | None = None
        self._cache_pid: int | None = None

    # --- the counted, error-mapped call ------------------------------------------------------
    def _call(self, write: bool, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if write:
            self.calls.writes += 1
        else:
            self.calls.reads += 1
        try:
            return fn(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except ApiException as exc:
            self.calls.errors += 1
            raise _mapped(exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            self.calls.errors += 1
            raise RetryableError(f"Kubernetes API unreachable: {exc}") from exc

    # --- the root object -----------------------------------------------------------------------
    def ensure_root(self, root: dict[str, Any]) -> dict[str, Any]:
        stored = self._apply_custom(root)
        self.cache[KIND].store(stored)
        return stored

    def _apply_custom(self, body: dict[str, Any]) -> dict[str, Any]:
        path = f"/apis/{API_VERSION}/namespaces/{self.namespace}/{PLURAL}/{body['metadata']['name']}"
        return self._server_side_apply(path, body, dry_run=False)

    def write_status(self, deployment: str, status: dict[str, Any]) -> None:
        """Replaces the whole status (a JSON patch ``add`` of /status): a merge patch would keep
        keys the new status no longer has (a phase no pod is in any more), so the stored status
        would never equal the derived one and every pass would write it again."""
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURAL}/{deployment}/status"
        try:  # the client's own status patch is always a merge patch, so this sends the PATCH itself
            stored = self._call(
                True, self.api.call_api, path, "PATCH",
                header_params={"Content-Type": "application/json-patch+json", "Accept": "application/json"},
                body=[{"op": "add", "path": "/status", "value": status}],
                response_type="object", auth_settings=["BearerToken"], _return_http_data_only=True,
            )  # fmt: skip
        except ApiNotFoundError:
            log.info("status of %s not written: its root object is gone", deployment)
            return
        if self._cache is not None:
            self._cache[KIND].store(stored)

    def delete_deployment(self, deployment: str) -> None:
        delete = self.custom.delete_namespaced_custom_object
        self._ignore_missing(
            lambda: self._call(
                True,
                delete,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                deployment,
                propagation_policy="Background",
            )
        )
        if self._cache is not None:
            self._cache[KIND].remove(deployment)

    # --- observe: from the watch cache --------------------------------------------------------
    def observe(self, deployment: str) -> Observed:
        """The deployment's objects as the watch cache holds them: no API call, except the initial
        lists of a fresh cache (counted as this pass's reads). Read-only: shared with the cache."""
        cache = self.cache
        initial = not cache.synced
        self._wait_usable(cache)
        if initial:  # a fresh cache: this pass waited for the initial lists, they are its reads
            self.calls.reads += cache.list_calls()
        observed = Observed(root=cache[KIND].get(deployment))
        for kind in MANAGED_KINDS:
            observed.objects[kind] = cache[kind].indexed(deployment)
        observed.pods = [
            pod["state"] for pod in cache["Pod"].indexed(deployment).values() if not pod["deleting"]
        ]
        return observed

    @property
    def cache(self) -> WatchCache:
        """The watch cache, started on first use. A backend belongs to one process: its watch
        threads and its client's connections do not survive a fork (``jobs.backends`` builds
        one per worker process)."""
        if self._cache_pid is not None and self._cache_pid != os.getpid():
            raise RuntimeError("a KubernetesBackend cannot be used across a fork; build one per process")
        if self._cache is None:
            self._cache = WatchCache(self._sources(), WATCH_SELECTOR).start()
            self._cache_pid = os.getpid()
        return self._cache

    def close(self) -> None:
        """Stops the watches (tests, benchmarks and shutdown); a later pass starts afresh."""
        if self._cache is not None:
            self._cache.stop()
        self._cache, self._cache_pid = None, None

    def _sources(self) -> list[Source]:
        """Every kind the orchestrator owns, plus the root objects and the pods; each is listed
        and then watched with the same client call."""
        ns = self.namespace
        calls: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
            KIND: (self.custom.list_namespaced_custom_object, (GROUP, VERSION, ns, PLURAL)),
            "ConfigMap": (self.core.list_namespaced_config_map, (ns,)),
            "Deployment": (self.apps.list_namespaced_deployment, (ns,)),
            "ServiceAccount": (self.core.list_namespaced_service_account, (ns,)),
            "Role": (self.rbac.list_namespaced_role, (ns,)),
            "RoleBinding": (self.rbac.list_namespaced_role_binding, (ns,)),
            "Pod": (self.core.list_namespaced_pod, (ns,)),
        }
        missing = set(MANAGED_KINDS) - set(calls)
        assert not missing, f"no watch for the managed kinds {sorted(missing)}"
        return [
            Source(
                kind,
                call,
                args,
                index_label=None if kind == KIND else LABEL_INSTANCE,
                transform=_compact_pod if kind == "Pod" else strip_managed_fields,
            )
            for kind, (call, args) in calls.items()
        ]

    def _wait_usable(self, cache: WatchCache) -> None:
        """A pass may read the cache once every kind is listed and while every watch is connected
        (else it would decide from a state it cannot know is current): a retryable error if not."""
        unsynced = cache.wait_synced(SYNC_TIMEOUT_SECONDS)
        if unsynced:
            problems = "; ".join(cache.problems()) or "no answer yet"
            raise RetryableError(
                f"Kubernetes API unreachable: cannot list {', '.join(unsynced)} ({problems})"
            )
        deadline = time.monotonic() + RECONNECT_GRACE_SECONDS
        while cache.problems():
            if time.monotonic() > deadline:
                raise RetryableError(f"Kubernetes API unreachable: {'; '.join(cache.problems())}")
            time.sleep(0.05)

    # --- apply and delete ----------------------------------------------------------------------
    def apply(self, manifest: dict[str, Any], dry_run: bool = False) -> None:
        stored = self._server_side_apply(_object_path(manifest, self.namespace), manifest, dry_run)
        if not dry_run:
            self.cache[manifest["kind"]].store(stored)

    def _server_side_apply(self, path: str, body: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        """The client has no server-side-apply call of its own, so this sends the PATCH itself."""
        return self._forced(
            lambda force: self._call(
                not dry_run, self.api.call_api, path, "PATCH",
                query_params=_apply_query(force, dry_run), header_params=_apply_headers(), body=body,
                response_type="object", auth_settings=["BearerToken"], _return_http_data_only=True,
            )
        )  # fmt: skip

    def delete(self, kind: str, name: str) -> None:
        delete = {
            "ConfigMap": self.core.delete_namespaced_config_map,
            "Deployment": self.apps.delete_namespaced_deployment,
            "ServiceAccount": self.core.delete_namespaced_service_account,
            "Role": self.rbac.delete_namespaced_role,
            "RoleBinding": self.rbac.delete_namespaced_role_binding,
        }[kind]
        self._ignore_missing(
            lambda: self._call(True, delete, name, self.namespace, propagation_policy="Background")
        )
        self.cache[kind].remove(name)

    def _forced(self, call: Callable[[bool], T]) -> T:
        """Applies without force; a 409 means another manager owns a field we set (a hand edit):
        log it and take the field back."""
        try:
            return call(False)
        except ApiConflictError as exc:
            log.warning("taking back fields changed by another manager: %s", exc)
            return call(True)

    @staticmethod
    def _ignore_missing(call: Callable[[], T]) -> T | None:
        try:
            return call()
        except ApiNotFoundError:
            return None


class ApiConflictError(RetryableError):
    """HTTP 409: someone else changed the object; re-reading and trying again resolves it."""


class ApiNotFoundError(PermanentError):
    """HTTP 404."""


def _mapped(exc: ApiException) -> Exception:
    reason = f"{exc.status} {exc.reason}: {_message(exc)}"
    if exc.status == 404:
        return ApiNotFoundError(f"not found: {reason}")
    if exc.status == 409:
        return ApiConflictError(reason)
    if exc.status in RETRYABLE_STATUSES:
        return RetryableError(f"Kubernetes API error {reason}")
    return PermanentError(f"Kubernetes API rejected the request: {reason}")


def _message(exc: ApiException) -> str:
    try:
        return json.loads(exc.body or "{}").get("message", exc.body)
    except ValueError:
        return str(exc.body)


def _apply_headers() -> dict[str, str]:
    """A fresh dict per call: ``call_api`` merges the client's default headers into the one it is
    given, so a shared dict would carry one client's headers (say, impersonation) to the next."""
    return dict(APPLY_HEADERS)


def _apply_query(force: bool, dry_run: bool) -> list[tuple[str, str]]:
    query = [("fieldManager", FIELD_MANAGER)]
    if force:
        query.append(("force", "true"))
    if dry_run:
        query.append(("dryRun", "All"))
    return query


def _object_path(manifest: dict[str, Any], namespace: str) -> str:
    base = KIND_PATHS[manifest["kind"]].format(ns=namespace)
    return f"{base}/{manifest['metadata']['name']}"


def _compact_pod(pod: dict[str, Any]) -> dict[str, Any]:
    """What the cache keeps of a pod: its name, labels and version, its state for observe, and
    whether it is being deleted; at thousands of pods the rest is memory for nothing."""
    metadata = pod["metadata"]
    return {
        "metadata": {
            "name": metadata["name"],
            "labels": metadata.get("labels") or {},
            "resourceVersion": metadata.get("resourceVersion"),
        },
        "state": _pod_state(pod),
        "deleting": bool(metadata.get("deletionTimestamp")),
    }


def _pod_state(pod: dict[str, Any]) -> PodState:
    metadata, status = pod["metadata"], pod.get("status", {})
    labels = metadata.get("labels") or {}
    conditions = status.get("conditions") or []
    pod_ip = status.get("podIP")
    phase, reason, message = kube_pod_health(status)  # CrashLoop from containerStatuses
    return PodState(
        name=metadata["name"],
        uid=metadata["uid"],
        entity=labels.get(LABEL_ENTITY, ""),
        pod=labels.get(LABEL_POD, ""),
        phase=phase,
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
        restarts=sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or []),
        metrics_url=f"http://{pod_ip}:{METRICS_PORT}/metrics" if pod_ip else None,
        reason=reason,
        message=message,
    )
