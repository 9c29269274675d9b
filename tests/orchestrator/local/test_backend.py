"""The backend over the state directory, without any process: what the API server would do."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.local import LocalBackend
from orchestrator.local.store import StateDir, template_hash, write_json
from orchestrator.reconciler.backend import MANAGED_KINDS, PermanentError
from orchestrator.reconciler.convert import workload_name
from tests.orchestrator.local.helpers import CONFIG_MAP, POD, POD_1, deploy, manifest

A_CONFIG_MAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "cm", "labels": {"x": "1"}},
    "data": {"k": "v"},
}


def workload(image: str = "a:1") -> dict:
    template = {"spec": {"containers": [{"name": "c", "image": image}]}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
            "spec": {"replicas": 1, "template": template}}  # fmt: skip


def test_a_create_gets_a_uid_and_kinds_with_a_spec_a_generation(backend: LocalBackend) -> None:
    backend.apply(A_CONFIG_MAP)
    backend.apply(workload())
    stored = StateDir(backend.store.root)
    cm, wl = (
        stored.read_object("default", "ConfigMap", "cm"),
        stored.read_object("default", "Deployment", "w"),
    )
    assert cm["metadata"]["uid"]
    assert "generation" not in cm["metadata"]
    assert wl["metadata"]["generation"] == 1
    assert cm["metadata"]["uid"] != wl["metadata"]["uid"]


def test_the_generation_rises_when_the_spec_changes_and_not_for_metadata(backend: LocalBackend) -> None:
    backend.apply(workload())
    first = backend.store.read_object("default", "Deployment", "w")
    labelled = workload()
    labelled["metadata"]["labels"] = {"a": "b"}
    backend.apply(labelled)
    backend.apply(workload("a:2"))
    last = backend.store.read_object("default", "Deployment", "w")
    assert last["metadata"]["generation"] == 2
    assert last["metadata"]["uid"] == first["metadata"]["uid"]
    assert last["metadata"].get("labels") is None  # apply makes managed fields equal to the manifest


def test_applying_an_unchanged_manifest_writes_nothing(backend: LocalBackend) -> None:
    backend.apply(A_CONFIG_MAP)
    token = backend.store.change_token()
    backend.calls.reset()
    backend.apply(A_CONFIG_MAP)
    assert (backend.calls.reads, backend.calls.writes) == (1, 0)
    assert backend.store.change_token() == token


def test_a_dry_run_validates_and_writes_nothing(backend: LocalBackend) -> None:
    backend.apply(A_CONFIG_MAP, dry_run=True)
    assert backend.store.read_object("default", "ConfigMap", "cm") is None
    assert backend.calls.writes == 0
    with pytest.raises(PermanentError):
        backend.apply({"kind": "ConfigMap", "metadata": {"name": "Not_Valid"}}, dry_run=True)


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "ConfigMap", "metadata": {"name": "../x"}},
        {"kind": "ConfigMap", "metadata": {}},
        {"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "other"}},
    ],
)
def test_a_manifest_that_cannot_be_stored_is_a_permanent_error(backend: LocalBackend, bad: dict) -> None:
    with pytest.raises(PermanentError):
        backend.apply(bad)
    assert backend.calls.errors == 1


def test_the_root_keeps_its_status_across_applies(backend: LocalBackend) -> None:
    name = deploy(backend, manifest())
    backend.write_status(name, {"state": "Ready"})
    root = backend.ensure_root(backend.observe(name).root | {"spec": {"changed": True}})
    assert root["status"] == {"state": "Ready"}
    assert root["metadata"]["generation"] == 2


def test_a_status_is_merged_like_a_merge_patch_and_written_only_when_it_changes(
    backend: LocalBackend,
) -> None:
    name = deploy(backend, manifest())
    backend.write_status(name, {"state": "Ready", "message": "m", "parts": {"a": 1, "b": 2}})
    backend.write_status(name, {"message": None, "parts": {"b": 3}})
    assert backend.observe(name).root["status"] == {"state": "Ready", "parts": {"a": 1, "b": 3}}
    backend.calls.reset()
    backend.write_status(name, {"state": "Ready"})
    assert backend.calls.writes == 0


def test_a_status_for_a_root_that_is_gone_is_dropped(backend: LocalBackend) -> None:
    backend.write_status("nothing", {"state": "Ready"})
    assert backend.observe("nothing").root is None
    assert backend.calls.writes == 0


def test_observe_returns_the_root_and_the_deployments_labelled_objects(backend: LocalBackend) -> None:
    name = deploy(backend, manifest(pods={"e-0": [0], "e-1": [1]}))
    deploy(backend, manifest(name="other"))
    observed = backend.observe(name)
    assert observed.root["metadata"]["name"] == name
    assert sorted(observed.objects["ConfigMap"]) == [CONFIG_MAP]
    assert sorted(observed.objects["Deployment"]) == [POD, POD_1]
    assert observed.pods == []


def test_deleting_a_deployment_removes_what_its_root_owns_and_nothing_else(backend: LocalBackend) -> None:
    name = deploy(backend, manifest())
    deploy(backend, manifest(name="other"))
    backend.apply(A_CONFIG_MAP)  # not owned by anything
    backend.delete_deployment(name)
    gone = backend.observe(name)
    assert gone.root is None
    assert gone.objects == {kind: {} for kind in MANAGED_KINDS}
    assert sorted(backend.observe("other").objects["Deployment"]) == [workload_name("other", "e-0")]
    assert backend.store.read_object("default", "ConfigMap", "cm") is not None
    backend.delete_deployment(name)  # absent is fine


def test_delete_removes_one_object_and_absent_is_fine(backend: LocalBackend) -> None:
    backend.apply(A_CONFIG_MAP)
    backend.delete("ConfigMap", "cm")
    backend.delete("ConfigMap", "cm")
    assert backend.store.read_object("default", "ConfigMap", "cm") is None


def _report_pod(state_dir: Path, template: dict, **fields: object) -> None:
    status = {"name": f"{POD}-abc-12345", "uid": "u-1", "deployment": POD, "instance": "demo", "entity": "e",
              "pod": "e-0", "phase": "Running", "reason": None, "ready": True, "restarts": 2,
              "metricsUrl": "http://127.0.0.1:1/metrics", "templateHash": template_hash(template),
              "observedGeneration": 1, **fields}  # fmt: skip
    write_json(state_dir / "pods" / "default" / f"{POD}.json", status)


def _heartbeat(state_dir: Path, at: float) -> None:
    write_json(state_dir / "runtime" / "runtime.json", {"pid": 1, "heartbeat": at})


def test_observe_reports_the_runtimes_pods_and_derives_the_deployment_status(
    backend: LocalBackend, state_dir: Path
) -> None:
    name = deploy(backend, manifest())
    _report_pod(state_dir, backend.observe(name).objects["Deployment"][POD]["spec"]["template"])
    _heartbeat(state_dir, time.time())
    observed = backend.observe(name)
    [pod] = observed.pods
    assert (pod.name, pod.entity, pod.pod, pod.phase, pod.ready, pod.restarts) == (
        f"{POD}-abc-12345", "e", "e-0", "Running", True, 2)  # fmt: skip
    assert pod.metrics_url == "http://127.0.0.1:1/metrics"
    replicas = {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
    assert observed.objects["Deployment"][POD]["status"] == {**replicas, "observedGeneration": 1}


def test_a_pod_of_an_older_template_is_not_counted_as_updated(backend: LocalBackend, state_dir: Path) -> None:
    name = deploy(backend, manifest())
    _report_pod(state_dir, {"old": "template"})
    _heartbeat(state_dir, time.time())
    assert backend.observe(name).objects["Deployment"][POD]["status"]["updatedReplicas"] == 0


def test_a_pod_being_stopped_is_left_out_like_a_pod_being_deleted(
    backend: LocalBackend, state_dir: Path
) -> None:
    name = deploy(backend, manifest())
    _report_pod(state_dir, {}, reason="Terminating", ready=False)
    _heartbeat(state_dir, time.time())
    assert backend.observe(name).pods == []


def test_pods_of_a_runtime_that_stopped_reporting_are_unknown(backend: LocalBackend, state_dir: Path) -> None:
    name = deploy(backend, manifest())
    _report_pod(state_dir, {})
    _heartbeat(state_dir, time.time() - 60)
    [pod] = backend.observe(name).pods
    assert (pod.phase, pod.ready) == ("Unknown", False)
    assert not backend.runtime_alive()
