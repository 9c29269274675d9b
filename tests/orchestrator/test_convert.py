"""The convert phase, table-driven and without a cluster."""

import json
from pathlib import Path

import pytest

from orchestrator import load_manifest_yaml, move_partition, parse_deployment
from orchestrator.reconciler.convert import ConvertCache, ConvertContext, OwnerRef, convert, root_object

NAME = "word-count-demo"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "word-count.yaml"
CTX = ConvertContext(
    namespace="team-a",
    revision="word-count-demo-abc",
    state_url="redis://r:6379/0",
    epochs={"splitter": 7, "totals": 2},
    owner=OwnerRef(uid="uid-1", name="word-count-demo"),
)


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict]:
    spec = parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))
    return {(m["kind"], m["metadata"]["name"]): m for m in convert(spec, CTX)}


def test_it_makes_one_config_map_and_its_access_per_entity_and_one_workload_per_pod(manifests) -> None:
    per_entity = [
        (kind, f"word-count-demo.{entity}")
        for kind in ("ConfigMap", "Role", "RoleBinding", "ServiceAccount")
        for entity in ("splitter", "totals")
    ]
    workloads = [
        ("Deployment", f"word-count-demo.{pod}")
        for pod in ("splitter-0", "splitter-1", "splitter-2", "totals-0")
    ]
    assert sorted(manifests) == sorted(per_entity + workloads)


def test_access_objects_come_after_their_config_map_and_before_the_pods_that_use_them() -> None:
    spec = parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))
    kinds = [
        m["kind"] for m in convert(spec, CTX) if m["metadata"]["labels"]["invoker.io/entity"] == "splitter"
    ]
    assert kinds == ["ConfigMap", "ServiceAccount", "Role", "RoleBinding", *["Deployment"] * 3]


def test_an_entitys_role_lets_its_pods_only_watch_their_own_config_map(manifests) -> None:
    role = manifests[("Role", "word-count-demo.splitter")]
    assert role["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["word-count-demo.splitter"],
            "verbs": ["watch"],
        }
    ]


def test_the_role_binding_binds_the_entitys_role_to_the_entitys_service_account(manifests) -> None:
    binding = manifests[("RoleBinding", "word-count-demo.totals")]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "word-count-demo.totals",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "word-count-demo.totals", "namespace": "team-a"}
    ]
    account = manifests[("ServiceAccount", "word-count-demo.totals")]
    assert set(account) == {"apiVersion", "kind", "metadata"}  # no secrets, no pull secrets


@pytest.mark.parametrize("pod", ["splitter-0", "splitter-2", "totals-0"])
def test_a_pod_runs_as_its_entitys_account_and_knows_which_config_map_to_watch(manifests, pod) -> None:
    entity = pod.split("-")[0]
    template = manifests[("Deployment", f"word-count-demo.{pod}")]["spec"]["template"]["spec"]
    assert template["serviceAccountName"] == f"word-count-demo.{entity}"
    assert template["automountServiceAccountToken"] is True
    for container in template["containers"]:
        env = {e["name"]: e for e in container["env"]}
        assert env["INVOKER_CONFIG_MAP"] == {
            "name": "INVOKER_CONFIG_MAP",
            "value": f"word-count-demo.{entity}",
        }
        assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("splitter-0.json", {"pod": "splitter-0", "partitions": [0, 1], "epoch": 7}),
        ("splitter-2.json", {"pod": "splitter-2", "partitions": [4, 5], "epoch": 7}),
    ],
)
def test_each_pod_file_holds_its_partitions_and_the_entity_epoch(manifests, key, expected) -> None:
    data = manifests[("ConfigMap", "word-count-demo.splitter")]["data"]
    assert json.loads(data[key]) == expected


def test_main_json_holds_the_shared_settings_and_no_revision(manifests) -> None:
    main = json.loads(manifests[("ConfigMap", "word-count-demo.totals")]["data"]["main.json"])
    assert main["bootstrapServers"] == "127.0.0.1:9092"
    assert (main["inputTopic"], main["outputTopic"]) == ("words", "counts")
    assert main["stateBackend"] == {"kind": "redis", "url": "redis://r:6379/0"}
    assert "revision" not in main


def test_every_object_is_labelled_annotated_namespaced_and_owned(manifests) -> None:
    for (_, _), manifest in manifests.items():
        meta = manifest["metadata"]
        assert meta["namespace"] == "team-a"
        assert meta["labels"]["app.kubernetes.io/name"] == "invoker"
        assert meta["labels"]["app.kubernetes.io/instance"] == "word-count-demo"
        assert meta["labels"]["invoker.io/entity"] in {"splitter", "totals"}
        assert meta["annotations"]["invoker.io/revision"] == "word-count-demo-abc"
        assert meta["ownerReferences"][0]["uid"] == "uid-1"


def test_a_pod_runs_three_containers_sharing_sockets_and_the_read_only_config(manifests) -> None:
    pod = manifests[("Deployment", "word-count-demo.splitter-0")]["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["udf", "io", "state"]
    images = [c["image"] for c in pod["containers"]]
    assert images == [
        "invoker/executor-word-count:0.1",
        "invoker/io-sidecar:0.1",
        "invoker/state-sidecar:0.1",
    ]
    for container in pod["containers"]:
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["config"]["readOnly"] is True
        assert "sockets" in mounts
        assert container["imagePullPolicy"] == "IfNotPresent"
    assert {"name": "sockets", "emptyDir": {}} in pod["volumes"]


def test_the_pod_learns_its_spec_name_through_the_downward_api(manifests) -> None:
    template = manifests[("Deployment", "word-count-demo.splitter-1")]["spec"]["template"]
    env = {e["name"]: e for e in template["spec"]["containers"][0]["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['invoker.io/pod']"
    assert template["metadata"]["labels"]["invoker.io/pod"] == "splitter-1"


def test_only_the_pod_that_asks_for_resources_gets_them(manifests) -> None:
    with_resources = manifests[("Deployment", "word-count-demo.splitter-0")]["spec"]["template"]["spec"]
    without = manifests[("Deployment", "word-count-demo.splitter-1")]["spec"]["template"]["spec"]
    assert with_resources["containers"][0]["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}
    assert "resources" not in without["containers"][0]


def test_nothing_that_changes_with_the_assignment_is_in_a_pod_template() -> None:
    spec = parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))
    moved = parse_deployment(
        load_manifest_yaml(
            EXAMPLE.read_text().replace('["0", "1"]', '["0"]').replace('["2", "3"]', '["1", "2", "3"]')
        )
    )
    other = ConvertContext(
        namespace="team-a", revision="other", state_url="redis://r:6379/0", epochs={"splitter": 8}
    )
    before = {(m["kind"], m["metadata"]["name"]): m for m in convert(spec, CTX)}
    after = {(m["kind"], m["metadata"]["name"]): m for m in convert(moved, other)}
    for key, manifest in after.items():
        if manifest["kind"] == "Deployment":
            assert manifest["spec"]["template"] == before[key]["spec"]["template"]
        elif manifest["kind"] != "ConfigMap":  # the pods' access does not move with partitions
            assert {k: v for k, v in manifest.items() if k != "metadata"} == {
                k: v for k, v in before[key].items() if k != "metadata"
            }
    cm = ("ConfigMap", "word-count-demo.splitter")
    assert after[cm]["data"] != before[cm]["data"]


def test_pull_secrets_reach_the_pod_template() -> None:
    text = EXAMPLE.read_text().replace(
        "historyLimit: 5", "historyLimit: 5\n  imagePullSecrets: [{name: regcred}]"
    )
    spec = parse_deployment(load_manifest_yaml(text))
    workload = next(m for m in convert(spec, CTX) if m["kind"] == "Deployment")
    assert workload["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]


def test_a_cached_convert_reconverts_only_the_entity_a_move_touches() -> None:
    spec = parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))
    cache = ConvertCache()
    before = {m["metadata"]["name"]: m for m in convert(spec, CTX, cache)}
    moved = move_partition(spec, "splitter", 1, "splitter-1")
    ctx = ConvertContext(
        namespace="team-a", revision="next", state_url="redis://r:6379/0",
        epochs={"splitter": 8, "totals": 2}, owner=CTX.owner,
    )  # fmt: skip
    after = {m["metadata"]["name"]: m for m in convert(moved, ctx, cache)}
    untouched = [name for name in after if ".totals" in name]
    touched = [name for name in after if ".splitter" in name]
    assert untouched
    assert all(after[name] is before[name] for name in untouched)
    assert all(after[name] is not before[name] for name in touched)
    # And what the cache hands back is what a fresh convert makes, but for the revision annotation.
    fresh = {m["metadata"]["name"]: m for m in convert(moved, ctx)}
    assert json.dumps(after[f"{NAME}.splitter"], sort_keys=True) == json.dumps(
        fresh[f"{NAME}.splitter"], sort_keys=True
    )
    assert after[f"{NAME}.totals-0"]["metadata"]["annotations"]["invoker.io/revision"] == CTX.revision


def test_the_root_is_labelled_so_one_selector_watches_everything() -> None:
    spec = parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))
    labels = root_object(spec, {}, "team-a")["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "invoker"
    assert labels["app.kubernetes.io/instance"] == NAME
