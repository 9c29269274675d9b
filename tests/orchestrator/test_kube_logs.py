"""Container logs through the Kubernetes API (orchestrator.reconciler.logs.KubeLogs, ``pods/log``): a pod
on the test cluster's real node prints numbered lines; the reader returns the last N, then only
what was printed since, in order, and names an unknown pod or a container the pod lacks. Fails,
never skips, when the cluster or its real node is missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config

from orchestrator.reconciler.logs import KubeLogs, LogNotFoundError, LogSourceError
from tests.integration.real_node_harness import busybox_pod
from tests.polling import wait_until

DEPLOYMENT = "logged"
#: Each container prints 30 numbered lines, then a tick every 0.3 s.
SCRIPT = (
    'i=0; while [ $i -lt 30 ]; do echo "{role} line $i"; i=$((i+1)); done; '
    'j=0; while true; do echo "{role} tick $j"; j=$((j+1)); sleep 0.3; done'
)


@pytest.fixture(scope="module")
def api(kube_cluster) -> client.ApiClient:
    return config.new_client_from_config(config_file=kube_cluster.kubeconfig)


@pytest.fixture(scope="module")
def namespace(api: client.ApiClient) -> Iterator[str]:
    labels = {"app.kubernetes.io/instance": DEPLOYMENT, "invoker.io/pod": "e-0", "invoker.io/entity": "e"}
    commands = {role: SCRIPT.format(role=role) for role in ("udf", "io")}
    with busybox_pod(api, "logs", "logged-e-0-abc", labels, commands) as name:
        yield name


def test_the_last_lines_then_only_the_new_ones_through_the_api(api: client.ApiClient, namespace: str) -> None:
    logs = KubeLogs(api, namespace)
    first = wait_until(
        lambda: len((chunk := logs.tail(DEPLOYMENT, "e-0", "udf", 10)).lines) == 10 and chunk,
        120,
        "the pod on the real node to print",
    )
    # The first container may print before the kubelet reports the pod Running (seen at load 12).
    wait_until(lambda: [p["phase"] for p in logs.pods(DEPLOYMENT)] == ["Running"], 60, "the pod Running")
    assert logs.pods(DEPLOYMENT) == [
        {"pod": "e-0", "entity": "e", "phase": "Running", "containers": ["udf", "io"]}
    ]
    assert all(line.startswith("udf ") for line in first.lines), first.lines
    io = logs.tail(DEPLOYMENT, "e-0", "io", 5)
    assert len(io.lines) == 5
    assert all(line.startswith("io ") for line in io.lines), io.lines

    # What the container printed, in order: the tail and each follow step continue one another.
    stream = [f"udf line {i}" for i in range(30)] + [f"udf tick {j}" for j in range(100_000)]
    seen, chunk = list(first.lines), first
    while sum(" tick " in line for line in seen) < 15:
        chunk = wait_until(lambda c=chunk: (n := logs.follow(DEPLOYMENT, c)).lines and n, 30, "new lines")
        seen += chunk.lines
    start = stream.index(seen[0])
    assert seen == stream[start : start + len(seen)]  # none twice, none missed


def test_an_unknown_pod_or_a_container_the_pod_lacks_is_named(api: client.ApiClient, namespace: str) -> None:
    logs = KubeLogs(api, namespace)
    with pytest.raises(LogNotFoundError, match=r"deployment 'logged' has no pod 'e-7' \(its pods: e-0\)"):
        logs.tail(DEPLOYMENT, "e-7", "udf", 10)
    with pytest.raises(LogNotFoundError, match=r"pod 'e-0' has no container 'state' \(it has: udf, io\)"):
        logs.tail(DEPLOYMENT, "e-0", "state", 10)


def test_an_api_that_refuses_is_the_log_source_failing_not_a_crash(kube_cluster) -> None:
    """A 403 (RBAC) from the real apiserver is a LogSourceError naming it, which the web views
    answer with 503 and the follow socket with a close that says why (invoker_web/logs.py)."""
    refused = config.new_client_from_config(config_file=kube_cluster.kubeconfig)
    refused.set_default_header("Impersonate-User", "system:serviceaccount:default:nobody-reads-logs")
    with pytest.raises(LogSourceError, match="403"):
        KubeLogs(refused, "default").pods(DEPLOYMENT)
    with pytest.raises(LogSourceError, match="403"):
        KubeLogs(refused, "default").tail(DEPLOYMENT, "pod-0", "io")
