"""Comparing live objects with manifests, classifying changes, epochs and derived status: pure logic."""

import copy
import json

import pytest

from orchestrator.reconciler.backend import Observed, PodState
from orchestrator.reconciler.compare import object_satisfies, satisfies
from orchestrator.reconciler.epochs import entity_epochs
from orchestrator.reconciler.plan import Change, PlanMemo, limit_rollouts, plan_changes
from orchestrator.reconciler.reconcile import CONFIG_MAP_DRY_RUN_BYTES, needs_dry_run
from orchestrator.reconciler.status import Outcome, derive_status, status_changed
from orchestrator.spec.model import DeploymentSpec, EntitySpec, PodSpec


@pytest.mark.parametrize(
    ("live", "desired", "expected"),
    [
        ({"a": 1, "server": "default"}, {"a": 1}, True),
        ({"a": 1}, {"a": 2}, False),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}, False),
        ({"resources": {"limits": {"cpu": "500m"}}}, {"resources": {"limits": {"cpu": "0.5"}}}, True),
        ({"resources": {"limits": {"memory": "1Gi"}}}, {"resources": {"limits": {"memory": "1024Mi"}}}, True),
        ({"resources": {"limits": {"memory": "1G"}}}, {"resources": {"limits": {"memory": "1Gi"}}}, False),
        ({"cpu": "500m"}, {"cpu": "0.5"}, False),  # outside `resources` strings compare as strings
        ({}, {"a": None}, False),
    ],
)
def test_a_live_value_satisfies_the_fields_a_manifest_sets(live, desired, expected) -> None:
    assert satisfies(live, desired) is expected


def config_map(name: str = "d.e", data: dict | None = None, revision: str = "r1") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"x": "y"}, "annotations": {"invoker.io/revision": revision}},
        "data": data if data is not None else {"main.json": "{}"},
    }


def workload(name: str = "d-p", image: str = "img:1", settled: bool = True) -> dict:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"x": "y"}, "annotations": {}, "generation": 1},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "udf", "image": image}]}}},
    }
    manifest["status"] = {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "availableReplicas": 1,
    }
    if not settled:
        manifest["status"]["availableReplicas"] = 0
    return manifest


def observed_with(*objects: dict) -> Observed:
    observed = Observed()
    for obj in objects:
        observed.objects.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = copy.deepcopy(obj)
    return observed


def test_a_revision_annotation_alone_is_not_a_change() -> None:
    assert object_satisfies(config_map(revision="r1"), config_map(revision="r2"))


def test_changes_are_classified_create_update_roll_delete() -> None:
    observed = observed_with(config_map(data={"main.json": "old"}), workload(image="img:1"), workload("gone"))
    desired = [config_map(), workload(image="img:2"), workload("d-new")]
    changes = [(c.action, c.name) for c in plan_changes(desired, observed)]
    assert changes == [("update", "d.e"), ("roll", "d-p"), ("create", "d-new"), ("delete", "gone")]


def test_nothing_to_change_plans_nothing() -> None:
    desired = [config_map(), workload()]
    assert plan_changes(desired, observed_with(*desired)) == []


def with_version(obj: dict, version: str) -> dict:
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": version}}


def test_a_memo_skips_only_comparisons_whose_answer_cannot_have_changed(monkeypatch) -> None:
    import orchestrator.reconciler.plan as plan

    desired = [config_map(), workload()]
    observed = observed_with(with_version(desired[0], "5"), with_version(desired[1], "6"))
    memo, compared = PlanMemo(), []
    real = plan.object_satisfies
    monkeypatch.setattr(plan, "object_satisfies", lambda live, m: compared.append(m) or real(live, m))
    assert plan_changes(desired, observed, memo) == []
    assert len(compared) == 2
    assert plan_changes(desired, observed, memo) == []
    assert len(compared) == 2, "the same manifests against the same live versions: nothing compared"
    # A hand edit (a new live version) or a new manifest is compared again, and found.
    observed.objects["ConfigMap"]["d.e"] = with_version(config_map(data={"main.json": "edited"}), "7")
    moved = [config_map(data={"main.json": "{}"}), desired[1]]
    assert [c.describe() for c in plan_changes(moved, observed, memo)] == ["update ConfigMap/d.e"]
    assert [c.describe() for c in plan_changes(desired, observed, memo)] == ["update ConfigMap/d.e"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (Change("update", "ConfigMap", "d.e", config_map(data={"p.json": "{}"})), False),
        (
            Change("update", "ConfigMap", "d.e", config_map(data={"p.json": "x" * CONFIG_MAP_DRY_RUN_BYTES})),
            True,
        ),
        (Change("create", "ConfigMap", "d.e", config_map()), True),
        (Change("roll", "Deployment", "d-p", workload()), True),
        (Change("update", "Deployment", "d-p", workload()), True),
        (Change("delete", "Deployment", "d-p"), False),
        (Change("create", "RoleBinding", "d.e", {"kind": "RoleBinding", "metadata": {"name": "d.e"}}), False),
        (Change("create", "Role", "d.e", {"kind": "Role", "metadata": {"name": "d.e"}}), True),
    ],
)
def test_only_writes_the_api_server_could_refuse_are_dry_run(change: Change, expected: bool) -> None:
    assert needs_dry_run(change) is expected


def test_pods_are_replaced_one_at_a_time() -> None:
    observed = observed_with(workload("a", "img:1"), workload("b", "img:1"))
    changes = plan_changes([workload("a", "img:2"), workload("b", "img:2")], observed)
    now, held = limit_rollouts(changes, observed)
    assert [c.name for c in now] == ["a"]
    assert [c.name for c in held] == ["b"]


def test_no_replacement_starts_while_another_workload_is_still_rolling_out() -> None:
    observed = observed_with(workload("a", "img:2", settled=False), workload("b", "img:1"))
    now, held = limit_rollouts(
        plan_changes([workload("a", "img:2"), workload("b", "img:2")], observed), observed
    )
    assert now == []
    assert [c.name for c in held] == ["b"]


def spec_with(assignment: dict[str, tuple[int, ...]]) -> DeploymentSpec:
    pods = tuple(PodSpec(name, parts) for name, parts in assignment.items())
    entity = EntitySpec("e", "img:1", "k:9092", "in", "out", pods)
    return DeploymentSpec("d", (entity,))


def live_config(assignment: dict[str, list[int]], epoch: int) -> dict:
    data = {"main.json": "{}"}
    data.update(
        {
            f"{pod}.json": json.dumps({"pod": pod, "partitions": p, "epoch": epoch})
            for pod, p in assignment.items()
        }
    )
    return config_map("d.e", data)


@pytest.mark.parametrize(
    ("live", "revision_number", "expected"),
    [
        (None, 4, 4),  # first time: the revision number
        ({"p": [0, 1], "q": [2]}, 9, 3),  # same assignment: the epoch stays
        ({"p": [0], "q": [1, 2]}, 2, 4),  # moved: one more than observed
        ({"p": [0], "q": [1, 2]}, 9, 9),  # moved: never below the revision number
    ],
)
def test_the_epoch_rises_only_when_the_assignment_changes(live, revision_number, expected) -> None:
    observed = observed_with(live_config(live, 3)) if live else Observed()
    epochs = entity_epochs(spec_with({"p": (0, 1), "q": (2,)}), observed, revision_number)
    assert epochs == {"e": expected}


def test_status_is_ready_only_when_every_pod_is() -> None:
    spec = spec_with({"p": (0,), "q": (1,)})
    one_ready = Observed(
        pods=[PodState("x", "u", "e", "p", "Running", True), PodState("y", "u2", "e", "q", "Pending", False)]
    )
    status = derive_status(spec, "rev-2", one_ready, Outcome(), {"currentRevision": "rev-1"})
    assert (status["state"], status["currentRevision"], status["nextRevision"]) == (
        "Upgrading",
        "rev-1",
        "rev-2",
    )
    one_ready.pods[1].ready = True
    ready = derive_status(spec, "rev-2", one_ready, Outcome(), status)
    assert (ready["state"], ready["currentRevision"], ready["nextRevision"]) == ("Ready", "rev-2", None)


@pytest.mark.parametrize(
    ("permanent", "state", "reason"),
    [(False, "Degraded", "BackendUnavailable"), (True, "Failed", "ManifestRejected")],
)
def test_errors_become_a_state_with_a_reason(permanent, state, reason) -> None:
    status = derive_status(
        spec_with({"p": (0,)}), "r", Observed(), Outcome(error="boom", permanent=permanent), None
    )
    assert status["state"] == state
    assert status["conditions"][0]["reason"] == reason
    assert status["conditions"][0]["message"] == "boom"


def test_a_new_timestamp_alone_is_not_a_status_change() -> None:
    spec = spec_with({"p": (0,)})
    first = derive_status(spec, "r", Observed(), Outcome(), None)
    second = {**first, "lastUpdateTime": "2030-01-01T00:00:00Z"}
    assert not status_changed(first, second)
    assert status_changed(first, {**first, "state": "Degraded"})
