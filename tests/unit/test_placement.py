"""The executor pods' placement setting: parsed from the environment, checked, and put by convert
into the pod template of each Deployment (orchestrator/planning/placement.py), so a changed setting is a
change the plan sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator import load_manifest_yaml, parse_deployment
from orchestrator.planning.placement import Placement, PlacementError, parse_node_selector, parse_tolerations
from orchestrator.reconciler.backend import Observed
from orchestrator.reconciler.convert import ConvertContext, convert
from orchestrator.reconciler.plan import plan_changes

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "word-count.yaml"
TAINT = {"key": "invoker.dev/node", "operator": "Equal", "value": "real", "effect": "NoSchedule"}


SPEC = parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))


def manifests(placement: Placement) -> list[dict]:
    return convert(SPEC, ConvertContext("ns", "r1", "redis://x:6379/0", placement=placement))


def test_both_forms_of_each_variable_mean_the_same() -> None:
    assert parse_node_selector('{"invoker.dev/node": "real", "zone": "a"}') == parse_node_selector(
        "invoker.dev/node=real, zone=a"
    )
    assert parse_tolerations(json.dumps([TAINT])) == parse_tolerations("invoker.dev/node=real:NoSchedule")
    assert parse_tolerations("dedicated, gpu:NoExecute") == (
        {"key": "dedicated", "operator": "Exists"},
        {"key": "gpu", "operator": "Exists", "effect": "NoExecute"},
    )
    assert Placement.from_environ({}) == Placement()
    assert not Placement.from_environ({"INVOKER_POD_NODE_SELECTOR": " ", "INVOKER_POD_TOLERATIONS": ""})


@pytest.mark.parametrize(
    ("variable", "text", "names"),
    [
        ("INVOKER_POD_NODE_SELECTOR", "zone", "'zone' is not key=value"),
        ("INVOKER_POD_NODE_SELECTOR", '{"zone": 3}', "3 (for zone) is not a valid label value"),
        ("INVOKER_POD_NODE_SELECTOR", '["zone"]', "expected a JSON object"),
        ("INVOKER_POD_NODE_SELECTOR", "{bad json", "not valid JSON"),
        ("INVOKER_POD_NODE_SELECTOR", "bad key=x", "'bad key' is not a valid label key"),
        ("INVOKER_POD_TOLERATIONS", "gpu:NoSchedul", "effect 'NoSchedul' is not one of"),
        ("INVOKER_POD_TOLERATIONS", '[{"key": "a", "operator": "In"}]', "operator 'In' is not one of"),
        ("INVOKER_POD_TOLERATIONS", '[{"key": "a", "opertor": "Exists"}]', "unknown field(s) ['opertor']"),
        ("INVOKER_POD_TOLERATIONS", '[{"key": "a", "operator": "Exists", "value": "b"}]', "takes no value"),
        ("INVOKER_POD_TOLERATIONS", '[{"key": "a", "tolerationSeconds": 5}]', "only with effect NoExecute"),
        ("INVOKER_POD_TOLERATIONS", '{"key": "a"}', "expected a JSON list"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_variable_and_the_fault(
    variable: str, text: str, names: str
) -> None:
    with pytest.raises(PlacementError) as error:
        Placement.from_environ({variable: text})
    assert str(error.value).startswith(variable)
    assert names in str(error.value)


def test_each_deployment_gets_the_placement_and_nothing_else_changes() -> None:
    placement = Placement.from_environ(
        {
            "INVOKER_POD_NODE_SELECTOR": "invoker.dev/node=real",
            "INVOKER_POD_TOLERATIONS": "invoker.dev/node=real:NoSchedule",
        }
    )
    plain, placed = manifests(Placement()), manifests(placement)
    deployments = [m for m in placed if m["kind"] == "Deployment"]
    assert len(deployments) == sum(len(entity.pods) for entity in SPEC.entities)  # one per pod
    for manifest in deployments:
        pod = manifest["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"invoker.dev/node": "real"}
        assert pod["tolerations"] == [TAINT]
    for before, after in zip(plain, placed, strict=True):
        if after["kind"] == "Deployment":
            pod = after["spec"]["template"]["spec"]
            unplaced = {
                key: value for key, value in pod.items() if key not in ("nodeSelector", "tolerations")
            }
            assert unplaced == before["spec"]["template"]["spec"]
            after = {
                **after,
                "spec": {**after["spec"], "template": {**after["spec"]["template"], "spec": unplaced}},
            }
        assert after == before


def test_the_setting_adds_to_a_templates_own_selector_and_tolerations_without_repeating_them() -> None:
    placement = Placement({"zone": "a"}, (TAINT,))
    manifest = {
        "kind": "Deployment",
        "spec": {
            "template": {"spec": {"nodeSelector": {"zone": "b", "disk": "ssd"}, "tolerations": [TAINT]}}
        },
    }
    placed = placement.applied(manifest)
    assert placed["spec"]["template"]["spec"] == {
        "nodeSelector": {"zone": "a", "disk": "ssd"},
        "tolerations": [TAINT],
    }
    assert manifest["spec"]["template"]["spec"]["nodeSelector"] == {"zone": "b", "disk": "ssd"}  # not mutated
    assert placement.applied({"kind": "ConfigMap", "data": {}}) == {"kind": "ConfigMap", "data": {}}


def observed(live: list[dict]) -> Observed:
    objects: dict[str, dict[str, dict]] = {}
    for manifest in live:
        objects.setdefault(manifest["kind"], {})[manifest["metadata"]["name"]] = manifest
    return Observed(objects=objects)


def test_a_changed_setting_updates_every_deployment_and_nothing_else() -> None:
    running = manifests(Placement())
    assert plan_changes(manifests(Placement()), observed(running)) == []
    moved = Placement({"zone": "a"}, (TAINT,))
    changes = plan_changes(manifests(moved), observed(running))
    assert {change.kind for change in changes} == {"Deployment"}
    assert len(changes) == sum(len(entity.pods) for entity in SPEC.entities)
    assert plan_changes(manifests(moved), observed(manifests(moved))) == []
