"""The chart against the real API server (`./dev start kube`): a real `helm install` of the
defaults and of every example into a fresh namespace, so the API server itself (validation,
admission, RBAC escalation checks) accepts every object; then `helm upgrade` keeps the
SECRET_KEY, `helm uninstall` removes the release, and the orchestrator reconciles a deployment
using nothing but the RBAC the chart granted.

KWOK runs the pods on a fake node (Jobs complete), so the migration hook finishes and the
install does not wait on real containers. The monitoring example is installed twice: once as
is, which must fail clearly because the cluster has no Prometheus Operator CRDs (installing
third-party CRDs into the shared test cluster is avoided on purpose), and once without the
monitoring objects, so that everything else in it is still admitted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from orchestrator import load_manifest_yaml, parse_deployment
from orchestrator.reconciler.kube import KubernetesBackend, load_api_client
from orchestrator.reconciler.reconcile import Target, reconcile
from tests.chart.conftest import CHART, ROOT, VALUES_IDS, VALUES_SETS
from tests.polling import wait_until

RELEASE = "inv"
WORD_COUNT = ROOT / "examples" / "word-count.yaml"
NO_MONITORING = ("metrics.serviceMonitor.enabled=false", "metrics.executorPodMonitor.enabled=false")


def wait_for(what: str, check: Callable[[], object], timeout: float = 60) -> object:
    return wait_until(check, timeout, what, interval=0.25)


class Cluster:
    """Namespaces created by one test, with the Secrets the examples expect to exist."""

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.api = load_api_client(kubeconfig)
        self.core, self.apps = client.CoreV1Api(self.api), client.AppsV1Api(self.api)
        self.rbac = client.RbacAuthorizationV1Api(self.api)
        self.namespaces: list[str] = []

    def namespace(self) -> str:
        name = f"chart-{uuid.uuid4().hex[:8]}"
        self.core.create_namespace({"metadata": {"name": name}})
        self.namespaces.append(name)
        return name

    def release_namespace(self) -> str:
        name = self.namespace()
        secrets = {
            "invoker-database": {"url": "postgres://invoker:pw@postgres:5432/invoker",
                                 "database-url": "postgres://invoker:pw@postgres:5432/invoker"},
            "invoker-redis": {"url": "redis://:pw@redis:6379/0"},
            "invoker-django": {"django-secret-key": "k" * 10 + uuid.uuid4().hex * 2},
        }  # fmt: skip
        for secret, data in secrets.items():
            self.core.create_namespaced_secret(name, {"metadata": {"name": secret}, "stringData": data})
        return name

    def deployments(self, namespace: str) -> set[str]:
        return {d.metadata.name for d in self.apps.list_namespaced_deployment(namespace).items}

    def secret_key(self, namespace: str) -> str:
        return self.core.read_namespaced_secret(f"{RELEASE}-invoker-secret-key", namespace).data["secret-key"]

    def cleanup(self) -> None:
        for name in self.namespaces:
            try:
                self.core.delete_namespace(name)
            except ApiException as exc:
                if exc.status != 404:
                    raise


@pytest.fixture
def cluster(kube_cluster) -> Iterator[Cluster]:
    c = Cluster(kube_cluster.kubeconfig)
    try:
        yield c
    finally:
        c.cleanup()


def install(helm, cluster: Cluster, namespace: str, values: Path | None, *sets: str, check: bool = True):
    args = ["install", RELEASE, str(CHART), "--namespace", namespace, "--wait=false", "--timeout", "90s"]
    if values:
        args += ["--values", str(values)]
    for item in sets:
        args += ["--set", item]
    return helm.run(*args, kubeconfig=cluster.kubeconfig, check=check)


@pytest.mark.parametrize("values", VALUES_SETS, ids=VALUES_IDS)
def test_helm_install_is_accepted_by_the_api_server(helm, cluster, values) -> None:
    namespace = cluster.release_namespace()
    sets: tuple[str, ...] = ()
    managed = namespace
    if values and values.stem == "cluster-wide-rbac":
        managed = cluster.namespace()  # the example's own namespace name, made unique
        sets = (f"orchestrator.namespace={managed}",)
    if values and values.stem == "ingress-servicemonitor":
        failed = install(helm, cluster, namespace, values, check=False)
        assert failed.returncode != 0
        assert 'no matches for kind "ServiceMonitor" in version "monitoring.coreos.com/v1"' in failed.stderr
        assert "ensure CRDs are installed first" in failed.stderr
        assert not cluster.deployments(namespace), "a failed install must create nothing"
        assert not helm.run("list", "-q", "-n", namespace, kubeconfig=cluster.kubeconfig).stdout.strip()
        sets = NO_MONITORING

    install(helm, cluster, namespace, values, *sets)

    expected = {f"{RELEASE}-invoker-{c}" for c in ("web", "worker", "reconciler", "beat", "state-redis")}
    if values and values.stem == "evaluation-bundled-redis":
        expected.add(f"{RELEASE}-invoker-redis")
    assert cluster.deployments(namespace) == expected
    status = helm.run("status", RELEASE, "-n", namespace, kubeconfig=cluster.kubeconfig).stdout
    assert "STATUS: deployed" in status
    if values and values.stem == "cluster-wide-rbac":
        role = cluster.rbac.read_cluster_role(f"{namespace}-{RELEASE}-invoker-orchestrator")
        assert not cluster.rbac.list_namespaced_role(managed).items
    else:
        role = cluster.rbac.read_namespaced_role(f"{RELEASE}-invoker-orchestrator", managed)
    assert len(role.rules) == 8  # the table of docs/orchestrator.md, "Least RBAC"
    # The migration hook ran and was cleaned up (hook-succeeded).
    assert not client.BatchV1Api(cluster.api).list_namespaced_job(namespace).items

    helm.run(
        "uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "60s", kubeconfig=cluster.kubeconfig
    )
    assert not cluster.deployments(namespace)
    if values and values.stem == "cluster-wide-rbac":
        with pytest.raises(ApiException) as gone:
            cluster.rbac.read_cluster_role(f"{namespace}-{RELEASE}-invoker-orchestrator")
        assert gone.value.status == 404


def test_an_upgrade_keeps_the_generated_secret_key(helm, cluster) -> None:
    namespace = cluster.release_namespace()
    install(helm, cluster, namespace, None)
    key = cluster.secret_key(namespace)
    helm.run(
        "upgrade", RELEASE, str(CHART), "-n", namespace, "--wait=false", "--set", "web.replicas=2",
        kubeconfig=cluster.kubeconfig,
    )  # fmt: skip
    assert cluster.apps.read_namespaced_deployment(f"{RELEASE}-invoker-web", namespace).spec.replicas == 2
    assert cluster.secret_key(namespace) == key
    # A second release in another namespace gets its own key.
    other = cluster.release_namespace()
    install(helm, cluster, other, None)
    assert cluster.secret_key(other) != key


def test_the_orchestrator_works_with_only_the_charts_rbac(helm, cluster) -> None:
    """Impersonating the chart's ServiceAccount, a full reconcile cycle (create, converge,
    remove an entity, delete) succeeds, and anything outside the table is forbidden."""
    namespace = cluster.release_namespace()
    install(helm, cluster, namespace, None)
    api = load_api_client(cluster.kubeconfig)
    api.set_default_header("Impersonate-User", f"system:serviceaccount:{namespace}:{RELEASE}-invoker")
    backend = KubernetesBackend(api, namespace)
    try:
        _converge_and_delete(backend, cluster, namespace)
    finally:
        backend.close()  # its watches would outlive the namespace and log 403s at exit

    for forbidden in (
        lambda: client.CoreV1Api(api).list_namespaced_secret(namespace),
        lambda: client.CoreV1Api(api).delete_collection_namespaced_pod(namespace),
        lambda: client.CoreV1Api(api).list_namespaced_config_map("default"),
    ):
        with pytest.raises(ApiException) as denied:
            forbidden()
        assert denied.value.status == 403


def _converge_and_delete(backend: KubernetesBackend, cluster, namespace: str) -> None:
    """A full reconcile cycle: create, converge, remove an entity, delete."""
    spec = parse_deployment(load_manifest_yaml(WORD_COUNT.read_text()))

    def ready(target: Target) -> Callable[[], bool]:
        def check() -> bool:
            result = reconcile(target, backend)
            assert not result.error, result.error
            return result.status.get("state") == "Ready"

        return check

    wait_for("word-count to be Ready", ready(Target(spec, f"{spec.name}-rev1", 1, "redis://redis:6379/0")))
    smaller = replace(spec, entities=spec.entities[:1])
    wait_for("one entity removed", ready(Target(smaller, f"{spec.name}-rev2", 2, "redis://redis:6379/0")))
    workloads = {d.metadata.name for d in cluster.apps.list_namespaced_deployment(namespace).items}
    assert not [w for w in workloads if w.startswith(f"{spec.name}.") and spec.entities[1].name in w]
    backend.delete_deployment(spec.name)
