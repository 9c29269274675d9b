"""The chart's Role is enough for the dashboard's logs, and ``pods/log`` in it is needed: against
the real apiserver, the log reader (orchestrator.reconciler.logs.KubeLogs) runs as a ServiceAccount bound to
the chart's rendered Role and reads a real node pod's container log; without the ``pods/log``
rule the same read is refused (403)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from orchestrator.reconciler.logs import KubeLogs, LogChunk, LogSourceError
from tests.chart.conftest import one
from tests.integration.real_node_harness import busybox_pod
from tests.polling import wait_until

ACCOUNT = "invoker-logs-reader"


@pytest.fixture(scope="module")
def admin(kube_cluster) -> client.ApiClient:
    return config.new_client_from_config(config_file=kube_cluster.kubeconfig)


@pytest.fixture(scope="module")
def namespace(admin: client.ApiClient) -> Iterator[str]:
    labels = {"app.kubernetes.io/instance": "logged", "invoker.io/pod": "e-0", "invoker.io/entity": "e"}
    with busybox_pod(
        admin, "logs-rbac", "logged-e-0", labels, {"udf": "echo hello from udf; sleep 3600"}
    ) as name:
        client.CoreV1Api(admin).create_namespaced_service_account(name, {"metadata": {"name": ACCOUNT}})
        yield name


def as_account(kube_cluster, namespace: str) -> client.ApiClient:
    """A client that the apiserver treats as the ServiceAccount (impersonation by the admin)."""
    api = config.new_client_from_config(config_file=kube_cluster.kubeconfig)
    api.set_default_header("Impersonate-User", f"system:serviceaccount:{namespace}:{ACCOUNT}")
    return api


def bind(admin: client.ApiClient, namespace: str, role: dict[str, Any]) -> None:
    """Bind the account to ``role``; a second call replaces the Role's rules in place.

    Deleting and recreating the Role and binding would leave a moment with no binding at all,
    in which every read (even the pod list before the log read) is refused for the wrong reason.
    (A PUT would also create a missing Role, but not its binding, so both are created first.)
    """
    rbac = client.RbacAuthorizationV1Api(admin)
    role = copy.deepcopy(role)
    role["metadata"] = {"name": "orchestrator", "namespace": namespace}
    binding = {
        "metadata": {"name": "orchestrator", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "orchestrator"},
        "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": namespace}],
    }
    try:
        rbac.create_namespaced_role(namespace, role)
        rbac.create_namespaced_role_binding(namespace, binding)
    except ApiException as exc:
        if exc.status != 409:
            raise
        rbac.replace_namespaced_role("orchestrator", namespace, role)


def test_the_charts_role_reads_logs_and_pods_log_is_what_allows_it(
    helm, kube_cluster, admin, namespace
) -> None:
    role = one(helm.template(None), "Role")
    bind(admin, namespace, role)
    logs = KubeLogs(as_account(kube_cluster, namespace), namespace)

    def printed() -> LogChunk | None:
        try:
            chunk = logs.tail("logged", "e-0", "udf", 5)
        except LogSourceError:  # the new binding not yet seen by the apiserver's RBAC cache
            return None
        return chunk if chunk.lines else None

    chunk = wait_until(printed, 120, "the pod on the real node to print, read through the chart's Role")
    assert chunk.lines == ["hello from udf"]

    without = copy.deepcopy(role)
    without["rules"] = [r for r in without["rules"] if "pods/log" not in r["resources"]]
    assert len(without["rules"]) == len(role["rules"]) - 1
    bind(admin, namespace, without)

    def refused() -> ApiException | None:
        try:
            logs.tail("logged", "e-0", "udf", 5)
        except LogSourceError as exc:  # what the views answer 503 with, naming the API's answer
            return exc.__cause__
        return None  # the RBAC cache may take a moment to see the new Role

    error = wait_until(refused, 30, "the read to be refused without pods/log")
    assert isinstance(error, ApiException)
    assert error.status == 403
    assert 'cannot get resource "pods/log"' in json.loads(error.body)["message"], error.body
