"""The orchestrator against a real kube-apiserver (with controller-manager, scheduler and KWOK).

The API server validates every object, so these tests also prove the manifests are valid.
Each test gets its own namespace; conditions are polled with deadlines, never slept on.
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
from orchestrator.reconciler.kube import GROUP, PLURAL, VERSION, KubernetesBackend, load_api_client
from orchestrator.reconciler.reconcile import ReconcileResult, Target, needs_dry_run, reconcile
from orchestrator.spec.model import DeploymentSpec
from tests.polling import wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "word-count.yaml"
STATE_URL = "redis://127.0.0.1:16379/0"
NAME = "word-count-demo"


def wait_for(what: str, check: Callable[[], object], timeout: float = 60) -> object:
    return wait_until(check, timeout, what, interval=0.25)


class Harness:
    """One namespace on the real cluster, a backend for it, and the steps tests repeat."""

    def __init__(self, kubeconfig: str) -> None:
        self.api = load_api_client(kubeconfig)
        self.namespace = f"it-{uuid.uuid4().hex[:8]}"
        client.CoreV1Api(self.api).create_namespace({"metadata": {"name": self.namespace}})
        self.backend = KubernetesBackend(self.api, self.namespace)
        self.core, self.apps = client.CoreV1Api(self.api), client.AppsV1Api(self.api)
        self.number = 0

    def target(self, spec: DeploymentSpec) -> Target:
        self.number += 1
        return Target(spec, f"{spec.name}-rev{self.number}", self.number, STATE_URL)

    def converge(self, target: Target, timeout: float = 120) -> ReconcileResult:
        """Reconciles until the deployment is Ready, as the Celery requeue loop would.

        A transient error (a watch not yet reconnected after an outage) is retried, as the
        requeue loop retries it; a permanent one fails at once.
        """
        last: list[ReconcileResult] = []

        def ready() -> bool:
            last.append(reconcile(target, self.backend))
            assert not (last[-1].error and last[-1].permanent), last[-1].error
            return not last[-1].error and last[-1].status.get("state") == "Ready"

        try:
            wait_for(f"{target.spec.name} to be Ready", ready, timeout)
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}; last error: {last[-1].error if last else None}") from None
        return last[-1]

    def pods(self) -> dict[str, str]:
        """Spec pod name → Kubernetes pod uid, for the running pods."""
        pods = self.core.list_namespaced_pod(
            self.namespace, label_selector=f"app.kubernetes.io/instance={NAME}"
        )
        return {
            p.metadata.labels["invoker.io/pod"]: p.metadata.uid
            for p in pods.items
            if p.metadata.deletion_timestamp is None
        }

    def config_map(self, entity: str) -> client.V1ConfigMap:
        return self.core.read_namespaced_config_map(f"{NAME}.{entity}", self.namespace)

    def delete(self) -> None:
        self.backend.close()
        client.CoreV1Api(self.api).delete_namespace(self.namespace)


@pytest.fixture
def harness(kube_cluster) -> Iterator[Harness]:
    h = Harness(kube_cluster.kubeconfig)
    yield h
    h.delete()


@pytest.fixture(scope="module")
def example() -> DeploymentSpec:
    return parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))


def with_image(spec: DeploymentSpec, entity: str, image: str) -> DeploymentSpec:
    entities = tuple(replace(e, executor_image=image) if e.name == entity else e for e in spec.entities)
    return replace(spec, entities=entities)


def test_it_creates_every_object_and_the_pods_go_running(harness, example) -> None:
    result = harness.converge(harness.target(example))
    assert result.status["components"]["podsReady"] == 4
    assert set(harness.pods()) == {"splitter-0", "splitter-1", "splitter-2", "totals-0"}
    root = harness.backend.observe(NAME).root
    assert root["status"]["state"] == "Ready"
    assert root["status"]["currentRevision"] == result.revision


def test_a_reconcile_with_nothing_to_change_makes_no_api_call(harness, example) -> None:
    target = harness.target(example)
    harness.converge(target)
    again = reconcile(target, harness.backend)
    assert again.changes == []
    assert (again.reads, again.writes) == (0, 0), "a no-op pass reads the watch cache and writes nothing"


def test_a_partition_move_changes_only_the_config_map(harness, example) -> None:
    from orchestrator import move_partition

    harness.converge(harness.target(example))
    before = harness.pods()
    workloads_before = {
        d.metadata.name: d.metadata.generation
        for d in harness.apps.list_namespaced_deployment(harness.namespace).items
    }
    result = reconcile(harness.target(move_partition(example, "splitter", 1, "splitter-1")), harness.backend)
    assert [c.describe() for c in result.changes] == [f"update ConfigMap/{NAME}.splitter"]
    # Exactly the writes a move needs: the ConfigMap, the root's spec, its status (a new current
    # revision); no read, no dry run (a ConfigMap's data cannot be refused), no list afterwards.
    assert (result.reads, result.writes) == (0, 3)
    assert harness.backend.calls.errors == 0
    data = harness.config_map("splitter").data
    assert '"partitions":[0]' in data["splitter-0.json"]
    assert '"partitions":[1,2,3]' in data["splitter-1.json"]
    assert harness.pods() == before, "no pod was restarted"
    workloads_after = {
        d.metadata.name: d.metadata.generation
        for d in harness.apps.list_namespaced_deployment(harness.namespace).items
    }
    assert workloads_after == workloads_before


def test_an_image_change_replaces_the_pods_one_at_a_time(harness, example) -> None:
    harness.converge(harness.target(example))
    before = harness.pods()
    target = harness.target(with_image(example, "splitter", "invoker/executor-word-count:0.2"))
    first = reconcile(target, harness.backend)
    assert [c.action for c in first.changes] == ["roll"]
    assert len(first.held) == 2
    harness.converge(target, timeout=180)
    after = harness.pods()
    assert after["totals-0"] == before["totals-0"]
    assert all(after[p] != before[p] for p in ("splitter-0", "splitter-1", "splitter-2"))
    images = {
        d.metadata.name: d.spec.template.spec.containers[0].image
        for d in harness.apps.list_namespaced_deployment(harness.namespace).items
    }
    assert images[f"{NAME}.splitter-2"] == "invoker/executor-word-count:0.2"


def test_deleting_the_root_object_removes_everything_it_owns(harness, example) -> None:
    harness.converge(harness.target(example))
    harness.backend.delete_deployment(NAME)

    def all_gone() -> bool:
        observed = harness.backend.observe(NAME)
        return observed.root is None and not any(observed.objects.values())

    wait_for("the garbage collector to remove the owned objects", all_gone, timeout=120)


def test_drift_is_repaired_a_hand_edit_and_a_hand_deletion(harness, example) -> None:
    target = harness.target(example)
    harness.converge(target)
    # A hand edit through another field manager: our next apply meets a 409 conflict and takes the field back.
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{NAME}.totals"},
        "data": {"totals-0.json": "{}"},
    }
    harness.api.call_api(
        f"/api/v1/namespaces/{harness.namespace}/configmaps/{NAME}.totals", "PATCH",
        query_params=[("fieldManager", "kubectl-edit"), ("force", "true")],
        header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
        body=body, auth_settings=["BearerToken"], _return_http_data_only=True, response_type="object",
    )  # fmt: skip
    harness.apps.delete_namespaced_deployment(f"{NAME}.splitter-1", harness.namespace)
    # The watch brings both changes to the cache within moments; the next pass repairs them.
    wait_for("the cache to see the hand changes", lambda: seen_by_cache(harness.backend), timeout=30)
    repaired = reconcile(target, harness.backend)
    assert sorted(c.describe() for c in repaired.changes) == [
        f"create Deployment/{NAME}.splitter-1",
        f"update ConfigMap/{NAME}.totals",
    ]
    assert '"partitions":[0,1,2,3,4,5]' in harness.config_map("totals").data["totals-0.json"]
    harness.converge(target)


def test_a_manifest_the_apiserver_rejects_fails_permanently_and_changes_nothing(harness, example) -> None:
    harness.converge(harness.target(example))
    before = harness.pods()
    forbid_image(harness, "forbidden.example/evil")
    bad = harness.target(with_image(example, "totals", "forbidden.example/evil:1"))
    result = reconcile(bad, harness.backend)
    assert result.permanent
    assert result.status["state"] == "Failed"
    assert "forbidden" in result.error.lower()
    assert harness.pods() == before, "the last valid spec keeps running"
    assert harness.backend.observe(NAME).root["status"]["state"] == "Failed"


def forbid_image(harness: Harness, prefix: str) -> None:
    """A ValidatingAdmissionPolicy: the API server itself refuses Deployments with that image."""
    admission = client.AdmissionregistrationV1Api(harness.api)
    name = f"forbid-{harness.namespace}"
    admission.create_validating_admission_policy(
        {
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["apps"],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["deployments"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "object.spec.template.spec.containers.all("
                        f"c, !c.image.startsWith('{prefix}'))",
                        "message": f"images from {prefix} are forbidden",
                    }
                ],
            },
        }
    )
    admission.create_validating_admission_policy_binding(
        {
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": harness.namespace}}
                },
            },
        }
    )

    def enforced() -> bool:
        try:
            harness.apps.create_namespaced_deployment(
                harness.namespace, _probe_deployment(prefix), dry_run="All"
            )
        except ApiException as exc:
            return exc.status in (400, 403, 422)
        return False

    wait_for("the admission policy to be enforced", enforced, timeout=30)


def _probe_deployment(prefix: str) -> dict:
    labels = {"probe": "yes"}
    return {
        "metadata": {"name": "probe"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": f"{prefix}:1"}]},
            },
        },
    }


def test_an_apiserver_outage_degrades_the_deployment_then_it_converges(
    harness, example, kube_cluster
) -> None:
    from orchestrator import move_partition

    harness.converge(harness.target(example))
    target = harness.target(move_partition(example, "splitter", 0, "splitter-2"))
    kube_cluster.stop_apiserver()
    try:
        down = reconcile(target, harness.backend)
        assert down.error
        assert not down.permanent
        assert down.status["state"] == "Degraded"
        assert down.status["conditions"][0]["reason"] == "BackendUnavailable"
    finally:
        kube_cluster.start_apiserver()
    wait_for("the apiserver to answer again", lambda: _answers(harness))
    harness.converge(target)
    assert '"partitions":[0,4,5]' in harness.config_map("splitter").data["splitter-2.json"]


def _answers(harness: Harness) -> bool:
    try:
        client.VersionApi(harness.api).get_code()
    except Exception:  # any failure means "not yet"
        return False
    return True


# --- the watch cache: recovery -------------------------------------------------------------------


def hand_changes(harness: Harness) -> list[str]:
    """Another client deletes a workload and edits a ConfigMap; returns the repairs they call for."""
    harness.apps.delete_namespaced_deployment(f"{NAME}.splitter-1", harness.namespace)
    harness.core.patch_namespaced_config_map(
        f"{NAME}.totals", harness.namespace, {"data": {"totals-0.json": "{}"}}
    )
    return [f"create Deployment/{NAME}.splitter-1", f"update ConfigMap/{NAME}.totals"]


def seen_by_cache(backend: KubernetesBackend) -> bool:
    """Whether the cache holds the state hand_changes left."""
    totals = backend.cache["ConfigMap"].get(f"{NAME}.totals") or {}
    return (
        backend.cache["Deployment"].get(f"{NAME}.splitter-1") is None
        and (totals.get("data") or {}).get("totals-0.json") == "{}"
    )


def test_a_restarted_worker_lists_once_then_serves_every_pass_from_its_cache(harness, example) -> None:
    target = harness.target(example)
    harness.converge(target)
    harness.backend.close()  # the worker stops; while it is gone, the cluster changes
    repairs = hand_changes(harness)

    harness.backend = KubernetesBackend(harness.api, harness.namespace)  # a fresh process's cache
    first = reconcile(target, harness.backend)
    assert sorted(c.describe() for c in first.changes) == repairs
    lists = harness.backend.cache.list_calls()
    assert lists == len(harness.backend.cache.informers), "one list per watched kind, nothing more"
    assert first.reads == lists + sum(needs_dry_run(c) for c in first.changes[1:])  # + its dry runs
    harness.converge(target)
    again = reconcile(target, harness.backend)
    assert (again.reads, again.writes, again.changes) == (0, 0, [])
    assert harness.backend.cache.list_calls() == lists, "passes after the first never list"


def test_the_cache_follows_the_cluster_across_an_apiserver_restart(harness, example, kube_cluster) -> None:
    target = harness.target(example)
    harness.converge(target)
    cache = harness.backend.cache
    watches = {kind: informer.stats.watches for kind, informer in cache.informers.items()}
    kube_cluster.stop_apiserver()
    kube_cluster.start_apiserver()
    wait_for("the apiserver to answer again", lambda: _answers(harness))
    repairs = hand_changes(harness)  # made after the restart: only a reconnected watch sees them

    wait_for("the cache to see the hand changes", lambda: seen_by_cache(harness.backend), timeout=30)
    assert all(informer.stats.watches > watches[kind] for kind, informer in cache.informers.items())
    repaired = reconcile(target, harness.backend)
    assert sorted(c.describe() for c in repaired.changes) == repairs
    assert not repaired.error
    assert harness.backend.cache is cache, "the same cache, reconnected (or relisted), not a new one"
    harness.converge(target)
    again = reconcile(target, harness.backend)
    assert (again.reads, again.writes) == (0, 0)


def test_an_expired_resource_version_relists_and_the_cache_stays_right(harness, example) -> None:
    target = harness.target(example)
    harness.converge(target)
    informer = harness.backend.cache["ConfigMap"]
    lists = informer.stats.lists
    informer.forget_version("1")  # long compacted: the API server answers 410 Gone
    informer.reconnect()
    wait_for("a relist after 410 Gone", lambda: informer.stats.gone >= 1 and informer.stats.lists > lists)
    repairs = hand_changes(harness)
    wait_for("the relisted cache to follow the cluster", lambda: seen_by_cache(harness.backend), timeout=30)
    repaired = reconcile(target, harness.backend)
    assert sorted(c.describe() for c in repaired.changes) == repairs


def test_objects_that_only_share_the_labels_are_never_touched(harness, example) -> None:
    """The Helm chart labels its own workloads app.kubernetes.io/name=invoker and instance=<its
    release>, which may be a deployment's name: managed-by keeps them out of the watch."""
    labels = {"app.kubernetes.io/name": "invoker", "app.kubernetes.io/instance": NAME}
    foreign = {
        "metadata": {"name": "release-web", "labels": {**labels, "app.kubernetes.io/managed-by": "Helm"}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        },
    }
    harness.apps.create_namespaced_deployment(harness.namespace, foreign)
    result = harness.converge(harness.target(example))
    assert not [c for c in result.changes if c.name == "release-web"]
    assert harness.backend.cache["Deployment"].get("release-web") is None
    assert harness.apps.read_namespaced_deployment("release-web", harness.namespace).metadata.name


def test_a_status_write_replaces_the_stored_status_whole(harness, example) -> None:
    """A key the new status no longer has (a pod phase nobody is in any more) must not survive:
    otherwise the stored status never equals the derived one and every pass writes it again."""
    target = harness.target(example)
    harness.converge(target)
    backend = harness.backend
    backend.write_status(
        NAME, {"state": "Pending", "components": {"podPhases": {"Pending": 1, "Running": 2}}}
    )
    backend.write_status(NAME, {"state": "Ready", "components": {"podPhases": {"Running": 3}}})
    stored = client.CustomObjectsApi(harness.api).get_namespaced_custom_object(
        GROUP, VERSION, harness.namespace, PLURAL, NAME
    )["status"]
    assert stored == {"state": "Ready", "components": {"podPhases": {"Running": 3}}}
