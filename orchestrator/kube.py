"""Every call to the `kubernetes` package goes through here (STYLE.md #10).

One seam gives one place to count API calls per reconcile, to map the client's exceptions
onto retryable/permanent errors, and to patch in tests. Writes use server-side apply with the
field manager ``invoker``; a conflict with another manager (someone edited a field by hand)
is taken back with ``force``, which is how drift is repaired.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from orchestrator.backend import ApiCalls, Observed, PermanentError, PodState, RetryableError
from orchestrator.convert import LABEL_ENTITY, LABEL_INSTANCE, LABEL_POD, METRICS_PORT
from orchestrator.spec import API_VERSION

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


def load_api_client(kubeconfig: str | None = None, in_cluster: bool = False) -> client.ApiClient:
    """A client from the pod's service account or from a kubeconfig file."""
    if in_cluster:
        config.load_incluster_config()
        return client.ApiClient()
    return config.new_client_from_config(config_file=kubeconfig)


class KubernetesBackend:
    """The `Backend` for a real cluster: namespaced, owner-referenced, server-side applied."""

    name = "kubernetes"

    def __init__(self, api_client: client.ApiClient, namespace: str = "default") -> None:
        self.namespace = namespace
        self.calls = ApiCalls()
        self.api = api_client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.rbac = client.RbacAuthorizationV1Api(api_client)

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
        return self._apply_custom(root)

    def _apply_custom(self, body: dict[str, Any]) -> dict[str, Any]:
        path = f"/apis/{API_VERSION}/namespaces/{self.namespace}/{PLURAL}/{body['metadata']['name']}"
        return self._server_side_apply(path, body, dry_run=False)

    def write_status(self, deployment: str, status: dict[str, Any]) -> None:
        try:
            self._call(
                True,
                self.custom.patch_namespaced_custom_object_status,
                GROUP, VERSION, self.namespace, PLURAL, deployment, {"status": status},
            )  # fmt: skip
        except NotFoundError:
            log.info("status of %s not written: its root object is gone", deployment)

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

    # --- observe -------------------------------------------------------------------------------
    def observe(self, deployment: str) -> Observed:
        selector = f"{LABEL_INSTANCE}={deployment}"
        observed = Observed(root=self._get_root(deployment))
        lists = {
            "ConfigMap": self.core.list_namespaced_config_map,
            "Deployment": self.apps.list_namespaced_deployment,
            "ServiceAccount": self.core.list_namespaced_service_account,
            "Role": self.rbac.list_namespaced_role,
            "RoleBinding": self.rbac.list_namespaced_role_binding,
        }
        for kind, list_call in lists.items():
            items = self._list(list_call, selector)
            observed.objects[kind] = {item["metadata"]["name"]: item for item in items}
        pods = self._list(self.core.list_namespaced_pod, selector)
        observed.pods = [_pod_state(p) for p in pods if not p["metadata"].get("deletionTimestamp")]
        return observed

    def _list(self, list_call: Callable[..., Any], selector: str) -> list[dict[str, Any]]:
        """Items as the API's own JSON: the client's model classes cost more than the API call."""
        response = self._call(
            False, list_call, self.namespace, label_selector=selector, _preload_content=False
        )
        return json.loads(response.data)["items"]

    def _get_root(self, deployment: str) -> dict[str, Any] | None:
        return self._ignore_missing(
            lambda: self._call(
                False,
                self.custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                deployment,
            )
        )

    # --- apply and delete ----------------------------------------------------------------------
    def apply(self, manifest: dict[str, Any], dry_run: bool = False) -> None:
        self._server_side_apply(_object_path(manifest, self.namespace), manifest, dry_run)

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

    def _forced(self, call: Callable[[bool], T]) -> T:
        """Applies without force; a 409 means another manager owns a field we set (a hand edit):
        log it and take the field back."""
        try:
            return call(False)
        except ConflictError as exc:
            log.warning("taking back fields changed by another manager: %s", exc)
            return call(True)

    @staticmethod
    def _ignore_missing(call: Callable[[], T]) -> T | None:
        try:
            return call()
        except NotFoundError:
            return None


class ConflictError(RetryableError):
    """HTTP 409: someone else changed the object; re-reading and trying again resolves it."""


class NotFoundError(PermanentError):
    """HTTP 404."""


def _mapped(exc: ApiException) -> Exception:
    reason = f"{exc.status} {exc.reason}: {_message(exc)}"
    if exc.status == 404:
        return NotFoundError(f"not found: {reason}")
    if exc.status == 409:
        return ConflictError(reason)
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


def _pod_state(pod: dict[str, Any]) -> PodState:
    metadata, status = pod["metadata"], pod.get("status", {})
    labels = metadata.get("labels") or {}
    conditions = status.get("conditions") or []
    pod_ip = status.get("podIP")
    return PodState(
        name=metadata["name"],
        uid=metadata["uid"],
        entity=labels.get(LABEL_ENTITY, ""),
        pod=labels.get(LABEL_POD, ""),
        phase=status.get("phase") or "Pending",
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
        restarts=sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or []),
        metrics_url=f"http://{pod_ip}:{METRICS_PORT}/metrics" if pod_ip else None,
    )
