"""Smoke test of the local control plane (scripts/services/kube.sh), with the Python client.

Usage: python scripts/kube/smoke.py KUBECONFIG

Proves what the orchestrator's integration tests rely on: the server reports the expected
version; namespaces and ConfigMaps persist; Deployments and StatefulSets get pods that are
scheduled onto a KWOK node and go Running; a server-side dry-run create validates but stores
nothing; deleting an owner cascades to its dependents (garbage collector in the
controller-manager); a namespace deletion completes (namespace controller + KWOK removing the
pods that no kubelet would). Exits non-zero on the first failure.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from collections.abc import Callable

from kubernetes import client, config
from kubernetes.client.rest import ApiException

EXPECTED_MAJOR_MINOR = ("1", "33")
TIMEOUT = 60.0


def wait_for(what: str, check: Callable[[], object], timeout: float = TIMEOUT) -> object:
    """Polls check() until it returns something truthy; fails the smoke test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


def gone(read: Callable[[], object]) -> bool:
    """True once read() answers 404."""
    try:
        read()
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def step(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def wrap(fn: Callable[..., None]) -> Callable[..., None]:
        def run(*args: object) -> None:
            start = time.monotonic()
            fn(*args)
            print(f"ok   {name} ({time.monotonic() - start:.1f}s)", flush=True)

        return run

    return wrap


def pod_template(app: str) -> client.V1PodTemplateSpec:
    return client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels={"app": app}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="busybox:1.36")]),
    )


def running_pods(core: client.CoreV1Api, ns: str, app: str, want: int) -> list[client.V1Pod] | None:
    pods = core.list_namespaced_pod(ns, label_selector=f"app={app}").items
    live = [p for p in pods if p.metadata.deletion_timestamp is None]
    if len(live) == want and all(p.status.phase == "Running" and p.spec.node_name for p in live):
        return live
    return None


def assert_on_kwok_nodes(core: client.CoreV1Api, pods: list[client.V1Pod]) -> None:
    for pod in pods:
        node = core.read_node(pod.spec.node_name)
        annotations = node.metadata.annotations or {}
        assert annotations.get("kwok.x-k8s.io/node") == "fake", f"{pod.metadata.name} not on a KWOK node"
        assert pod.status.pod_ip, f"{pod.metadata.name} has no pod IP"


@step("server version")
def check_version(api: client.ApiClient) -> None:
    info = client.VersionApi(api).get_code()
    assert (info.major, info.minor) == EXPECTED_MAJOR_MINOR, f"unexpected version {info.git_version}"
    assert info.git_version.startswith("v1.33."), info.git_version
    print(f"     apiserver {info.git_version}")


@step("a Ready KWOK node")
def check_nodes(core: client.CoreV1Api) -> None:
    def ready() -> bool:
        for node in core.list_node().items:
            conditions = {c.type: c.status for c in node.status.conditions or []}
            if conditions.get("Ready") == "True":
                return True
        return False

    wait_for("a Ready node", ready)


@step("namespace + ConfigMap")
def check_configmap(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    # Pods need the namespace's default service account (ServiceAccount admission plugin);
    # the controller-manager creates it.
    wait_for(
        "default service account",
        lambda: not gone(lambda: core.read_namespaced_service_account("default", ns)),
    )
    core.create_namespaced_config_map(
        ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg"), data={"k": "v"})
    )
    assert core.read_namespaced_config_map("cfg", ns).data == {"k": "v"}


@step("server-side dry-run create stores nothing")
def check_dry_run(core: client.CoreV1Api, ns: str) -> None:
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dry"), data={"k": "v"})
    created = core.create_namespaced_config_map(ns, body, dry_run="All")
    assert created.metadata.uid, "dry-run response lacks server-populated fields"
    assert gone(lambda: core.read_namespaced_config_map("dry", ns)), "dry-run object was persisted"
    # Validation still happens server-side: an invalid name is rejected.
    bad = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="Not_Valid"))
    status = None
    try:
        core.create_namespaced_config_map(ns, bad, dry_run="All")
    except ApiException as exc:
        status = exc.status
    assert status == 422, f"dry-run of an invalid object answered {status}, expected 422"


@step("Deployment of 2 replicas -> pods Running on KWOK")
def check_deployment(core: client.CoreV1Api, apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(
        ns,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1DeploymentSpec(
                replicas=2,
                selector=client.V1LabelSelector(match_labels={"app": "web"}),
                template=pod_template("web"),
            ),
        ),
    )
    pods = wait_for("2 Running pods of Deployment web", lambda: running_pods(core, ns, "web", 2))
    assert_on_kwok_nodes(core, pods)  # type: ignore[arg-type]
    wait_for(
        "Deployment web available",
        lambda: (apps.read_namespaced_deployment_status("web", ns).status.available_replicas or 0) == 2,
    )


@step("StatefulSet of 1 replica -> pod Running on KWOK")
def check_statefulset(core: client.CoreV1Api, apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_stateful_set(
        ns,
        client.V1StatefulSet(
            metadata=client.V1ObjectMeta(name="db"),
            spec=client.V1StatefulSetSpec(
                replicas=1,
                service_name="db",
                selector=client.V1LabelSelector(match_labels={"app": "db"}),
                template=pod_template("db"),
            ),
        ),
    )
    pods = wait_for("1 Running pod of StatefulSet db", lambda: running_pods(core, ns, "db", 1))
    assert_on_kwok_nodes(core, pods)  # type: ignore[arg-type]


@step("garbage collector: deleting owners cascades")
def check_gc(core: client.CoreV1Api, apps: client.AppsV1Api, ns: str) -> None:
    owner = core.create_namespaced_config_map(
        ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    ref = client.V1OwnerReference(api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid)
    core.create_namespaced_config_map(
        ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dependent", owner_references=[ref]))
    )
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Background")
    wait_for(
        "dependent ConfigMap collected",
        lambda: gone(lambda: core.read_namespaced_config_map("dependent", ns)),
    )

    # The built-in chain too: Deployment -> ReplicaSet -> Pods.
    apps.delete_namespaced_deployment("web", ns, propagation_policy="Background")
    wait_for(
        "ReplicaSets of web collected",
        lambda: not apps.list_namespaced_replica_set(ns, label_selector="app=web").items,
    )
    wait_for("pods of web deleted", lambda: not core.list_namespaced_pod(ns, label_selector="app=web").items)


@step("namespace deletion completes")
def check_namespace_deletion(core: client.CoreV1Api, ns: str) -> None:
    core.delete_namespace(ns)
    wait_for(f"namespace {ns} gone", lambda: gone(lambda: core.read_namespace(ns)), timeout=90)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    api = config.new_client_from_config(config_file=argv[1])
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    ns = f"smoke-{uuid.uuid4().hex[:8]}"
    start = time.monotonic()
    try:
        check_version(api)
        check_nodes(core)
        check_configmap(core, ns)
        check_dry_run(core, ns)
        check_deployment(core, apps, ns)
        check_statefulset(core, apps, ns)
        check_gc(core, apps, ns)
        check_namespace_deletion(core, ns)
    except (AssertionError, ApiException) as exc:
        print(f"FAIL {type(exc).__name__}: {exc}", file=sys.stderr)
        with contextlib.suppress(ApiException):
            core.delete_namespace(ns)
        return 1
    print(f"smoke test passed in {time.monotonic() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
