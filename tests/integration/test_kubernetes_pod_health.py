"""Pod health from the real kube-apiserver: the Kubernetes backend reads containerStatuses
(waiting and last-terminated reasons, restartCount) through its watch cache, so a pod in
CrashLoopBackOff is CrashLoop with the reason, and an image that cannot be pulled is Failed.

The pods are bound to a node that does not exist, so no kubelet (nor KWOK) writes their status:
the test writes it through the pods' ``status`` subresource, as a kubelet would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from orchestrator.reconciler.convert import (
    LABEL_ENTITY,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    LABEL_POD,
)
from orchestrator.reconciler.kube import KubernetesBackend, load_api_client
from tests.polling import wait_until

NAME = "health-demo"


@pytest.fixture
def cluster(kube_cluster) -> Iterator[tuple[client.CoreV1Api, KubernetesBackend, str]]:
    api = load_api_client(kube_cluster.kubeconfig)
    namespace = f"it-health-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": namespace}})
    backend = KubernetesBackend(api, namespace)
    yield core, backend, namespace
    backend.close()
    core.delete_namespace(namespace)


def _pod(core: client.CoreV1Api, namespace: str, pod: str, status: dict[str, Any]) -> None:
    labels = {
        LABEL_NAME: "invoker",
        LABEL_MANAGED_BY: "invoker",
        LABEL_INSTANCE: NAME,
        LABEL_ENTITY: "splitter",
        LABEL_POD: pod,
    }
    body = {
        "metadata": {"name": f"{NAME}.{pod}", "labels": labels},
        "spec": {
            "nodeName": f"absent-{uuid.uuid4().hex[:6]}",  # nothing runs it, nothing reports on it
            "containers": [{"name": "udf", "image": "invoker/executor-word-count:0.1"}],
        },
    }
    core.create_namespaced_pod(namespace, body)
    core.patch_namespaced_pod_status(f"{NAME}.{pod}", namespace, {"status": status})


def test_crash_loop_back_off_and_an_unpullable_image_come_with_their_reasons(cluster) -> None:
    core, backend, namespace = cluster
    crash = {
        "name": "udf",
        "image": "invoker/executor-word-count:0.1",
        "imageID": "",
        "ready": False,
        "restartCount": 6,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": "no such model: wc"}},
    }
    _pod(core, namespace, "splitter-0", {"phase": "Running", "containerStatuses": [crash]})
    pull = {
        "name": "udf",
        "image": "nowhere/udf:1",
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "state": {
            "waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nowhere/udf:1"'}
        },
    }
    _pod(core, namespace, "splitter-1", {"phase": "Pending", "containerStatuses": [pull]})

    def both() -> dict[str, Any] | None:
        pods = {p.pod: p for p in backend.observe(NAME).pods}
        return (
            pods
            if {"splitter-0", "splitter-1"} <= set(pods) and pods["splitter-1"].phase == "Failed"
            else None
        )

    pods = wait_until(both, 60, "both pods with their statuses in the backend's cache", interval=0.25)
    looping = pods["splitter-0"]
    assert (looping.phase, looping.reason, looping.restarts) == ("CrashLoop", "CrashLoopBackOff", 6)
    assert looping.message == "container udf exited with code 1: no such model: wc"
    assert not looping.ready
    unpullable = pods["splitter-1"]
    assert (unpullable.phase, unpullable.reason) == ("Failed", "ImagePullBackOff")
    assert unpullable.message == 'udf: Back-off pulling image "nowhere/udf:1"'
