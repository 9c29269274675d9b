"""The test cluster's real node: a kubelet with containerd and runc that `./dev start kube` starts.

Unlike the KWOK node, whose pods go Running without running anything, these pods run real
processes in the busybox image built by scripts/services/node.sh, and everything a pod of ours
relies on is checked from inside one: an emptyDir shared between containers, a ConfigMap volume,
its name from the downward API, and the node's Kafka broker and Redis over the pod network (and
nothing beyond it). The tests read what the containers printed through the API server, which
fetches it from the kubelet. They fail, never skip, when the node is missing.
"""

from __future__ import annotations

import os
import re
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as redis_lib
from kubernetes import client, config

from tests.polling import wait_until

RUN_DIR = Path(os.environ.get("INVOKER_RUN", Path.home() / ".cache/invoker/run"))
NODE_ENV = RUN_DIR / "node" / "env"


@dataclass(frozen=True)
class RealNode:
    """What scripts/services/node.sh wrote to $INVOKER_RUN/node/env, as the tests use it."""

    name: str
    label: tuple[str, str]
    taint_key: str
    ip: str
    pod_cidr: str
    kafka_bootstrap: str
    redis_url: str
    apiserver_url: str
    kubelet_healthz: str
    busybox_image: str

    @classmethod
    def from_env_file(cls, path: Path) -> RealNode:
        env = dict(
            line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")
        )
        key, value = env["INVOKER_NODE_SELECTOR"].split("=", 1)
        return cls(
            name=env["INVOKER_NODE_NAME"],
            label=(key, value),
            taint_key=env["INVOKER_NODE_TAINT"].split("=", 1)[0],
            ip=env["INVOKER_NODE_IP"],
            pod_cidr=env["INVOKER_NODE_POD_CIDR"],
            kafka_bootstrap=env["INVOKER_NODE_KAFKA_BOOTSTRAP"],
            redis_url=env["INVOKER_NODE_REDIS_URL"],
            apiserver_url=env["INVOKER_NODE_APISERVER_URL"],
            kubelet_healthz=env["INVOKER_NODE_KUBELET_HEALTHZ"],
            busybox_image=env["INVOKER_NODE_BUSYBOX_IMAGE"],
        )

    def placement(self) -> dict:
        """The pod spec fields that put a pod on this node and nowhere else."""
        return {
            "nodeSelector": {self.label[0]: self.label[1]},
            "tolerations": [{"key": self.taint_key, "operator": "Exists", "effect": "NoSchedule"}],
        }


def _is_ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


@pytest.fixture(scope="module")
def core(kube_cluster) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=kube_cluster.kubeconfig))


@pytest.fixture(scope="module")
def real_node(core: client.CoreV1Api) -> RealNode:
    if not NODE_ENV.is_file():
        pytest.fail(f"the real node is not running (no {NODE_ENV}); start it with `./dev start kube`")
    node = RealNode.from_env_file(NODE_ENV)
    try:  # the Node object stays Ready for 40 s after its kubelet died; ask the kubelet itself
        urllib.request.urlopen(node.kubelet_healthz, timeout=2).read()
    except OSError as exc:
        pytest.fail(
            f"the kubelet of {node.name} does not answer at {node.kubelet_healthz} ({exc}); start it with "
            "`./dev start kube`"
        )
    found = core.list_node(field_selector=f"metadata.name={node.name}").items
    if not found or not _is_ready(found[0]):
        pytest.fail(f"node {node.name} is not registered and Ready; start it with `./dev start kube`")
    return node


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"node-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    # The controller-manager creates the default service account the pods need, shortly after.
    wait_until(
        lambda: core.list_namespaced_service_account(name, field_selector="metadata.name=default").items,
        30,
        f"the default service account of {name}",
    )
    yield name
    core.delete_namespace(name, grace_period_seconds=0)


def run_pod(core: client.CoreV1Api, namespace: str, node: RealNode, spec: dict, timeout: float = 90) -> str:
    """Runs a pod to completion on the real node; returns its log, failing if it did not succeed."""
    name = f"probe-{uuid.uuid4().hex[:6]}"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, **node.placement(), **spec},
    }
    core.create_namespaced_pod(namespace, pod)

    def finished() -> client.V1Pod | None:
        current = core.read_namespaced_pod(name, namespace)
        return current if current.status.phase in ("Succeeded", "Failed") else None

    done = wait_until(finished, timeout, f"pod {name} to finish on {node.name}", interval=0.25)
    log = core.read_namespaced_pod_log(name, namespace, container=spec["containers"][0]["name"])
    assert done.spec.node_name == node.name
    assert done.status.phase == "Succeeded", f"pod {name} failed: {done.status}\nlog:\n{log}"
    return log


def busybox(node: RealNode, script: str, **extra) -> dict:
    return {"name": "main", "image": node.busybox_image, "imagePullPolicy": "Never",
            "command": ["sh", "-c", script], **extra}  # fmt: skip


def test_the_real_node_is_ready_beside_the_kwok_node(core: client.CoreV1Api, real_node: RealNode) -> None:
    node = core.read_node(real_node.name)
    assert _is_ready(node)
    assert node.metadata.labels[real_node.label[0]] == real_node.label[1]
    assert any(t.key == real_node.taint_key and t.effect == "NoSchedule" for t in node.spec.taints or [])
    # A kubelet of the control plane's version on containerd, not a KWOK stand-in.
    assert node.status.node_info.kubelet_version == client.VersionApi(core.api_client).get_code().git_version
    assert node.status.node_info.container_runtime_version.startswith("containerd://1.")
    assert "kwok.x-k8s.io/node" not in (node.metadata.annotations or {})
    assert [a.address for a in node.status.addresses if a.type == "InternalIP"] == [real_node.ip]
    kwok = core.list_node(label_selector="type=kwok").items
    assert kwok, "the KWOK node must stay registered beside the real one"
    assert all(_is_ready(n) for n in kwok), "the KWOK node must stay Ready beside the real one"


def test_a_pod_sees_its_emptydir_configmap_and_downward_api(
    core: client.CoreV1Api, real_node: RealNode, namespace: str
) -> None:
    settings = {"metadata": {"name": "settings"}, "data": {"greeting": "hello"}}
    core.create_namespaced_config_map(namespace, settings)
    shared = {"name": "shared", "mountPath": "/shared"}
    init = busybox(real_node, "echo written-by-init >/shared/note", name="init", volumeMounts=[shared])
    script = "cat /shared/note; cat /config/greeting; echo; echo pod=$POD_NAME; echo pid=$$$$; "
    script += "cat /proc/1/cmdline | tr '\\0' ' '; echo"
    pod_name = {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    main = busybox(real_node, script, env=[pod_name],
                   volumeMounts=[shared, {"name": "config", "mountPath": "/config"}])  # fmt: skip
    volumes = [{"name": "shared", "emptyDir": {}}, {"name": "config", "configMap": {"name": "settings"}}]
    log = run_pod(
        core, namespace, real_node, {"initContainers": [init], "containers": [main], "volumes": volumes}
    )
    lines = log.splitlines()
    assert lines[0] == "written-by-init"  # the init container's write, through the emptyDir
    assert lines[1] == "hello"  # the ConfigMap's key as a file
    assert re.fullmatch(r"pod=probe-[0-9a-f]{6}", lines[2])  # its own name, from the downward API
    # A real process in a PID namespace of its own: the shell is PID 1 of the container (the
    # command says $$$$ because Kubernetes turns $$ into $ when it expands $(VAR) references).
    assert lines[3] == "pid=1"
    assert lines[4].startswith("sh -c cat /shared/note")


def test_a_pod_reaches_the_nodes_redis_and_kafka_over_the_pod_network(
    core: client.CoreV1Api, real_node: RealNode, namespace: str
) -> None:
    redis_host, redis_port = real_node.redis_url.split("//", 1)[1].split("/", 1)[0].split(":")
    kafka_host, kafka_port = real_node.kafka_bootstrap.split(":")
    api_host, api_port = real_node.apiserver_url.split("//", 1)[1].split(":")
    key = f"from-pod-{uuid.uuid4().hex[:8]}"
    # A Kafka ApiVersions v0 request (correlation id 7) in octal escapes: the broker's answer
    # starts with its length and the same correlation id.
    api_versions = r"\0\0\0\013\0\022\0\0\0\0\0\007\0\001t"
    log = run_pod(core, namespace, real_node, {"containers": [busybox(real_node, f"""
        ip -4 addr show eth0 | sed -n 's/.*inet \\([0-9.]*\\).*/ip=\\1/p'
        ip route | grep -q default && echo route=default || echo route=none
        printf 'SET {key} written\\r\\n' | nc -w 3 {redis_host} {redis_port}
        printf '{api_versions}' | nc -w 3 {kafka_host} {kafka_port} | head -c 8 | od -An -tx1 | tr -d ' \\n'
        echo
        nc -w 2 127.0.0.1 {redis_port} </dev/null 2>/dev/null && echo loopback=open || echo loopback=closed
        nc -w 2 {api_host} {api_port} </dev/null 2>/dev/null && echo api=open || echo api=closed
    """)]})  # fmt: skip
    lines = log.splitlines()
    prefix = real_node.pod_cidr.rsplit(".", 1)[0] + "."
    assert lines[0].startswith(f"ip={prefix}"), lines  # an address of the node's pod network
    assert lines[1] == "route=none", "pods must not be able to reach addresses beyond our own"
    assert lines[2].strip() == "+OK"
    assert lines[3][8:16] == "00000007", f"no ApiVersions answer from {real_node.kafka_bootstrap}: {lines[3]}"
    assert lines[4] == "loopback=closed"  # the pod's own loopback, not the machine's
    assert lines[5] == "api=open"  # the kubernetes Service address, DNATed to the apiserver
    store = redis_lib.Redis.from_url(real_node.redis_url, socket_connect_timeout=2)
    try:
        assert store.get(key) == b"written"  # the same Redis the host reaches at that address
        store.delete(key)
    finally:
        store.close()


def test_the_real_kubelet_not_kwok_runs_the_real_nodes_pods(
    core: client.CoreV1Api, real_node: RealNode, namespace: str
) -> None:
    # An image the node does not have, with pulls forbidden: KWOK would mark the pod Running;
    # the kubelet reports the missing image and never starts it.
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "missing-image"},
        "spec": {**real_node.placement(), "terminationGracePeriodSeconds": 0, "containers": [
            {"name": "main", "image": "localhost/invoker/not-built:1", "imagePullPolicy": "Never"}]},
    })  # fmt: skip

    def waiting_reason() -> str | None:
        statuses = core.read_namespaced_pod("missing-image", namespace).status.container_statuses or []
        reason = next((s.state.waiting.reason for s in statuses if s.state.waiting), None)
        return None if reason == "ContainerCreating" else reason  # the sandbox comes first

    assert wait_until(waiting_reason, 60, "the kubelet to report the missing image") == "ErrImageNeverPull"
    assert core.read_namespaced_pod("missing-image", namespace).status.phase == "Pending"
