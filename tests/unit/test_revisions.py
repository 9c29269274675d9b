"""Revision names depend on what a spec means, not how it is written; diffs match list items
by name."""

from __future__ import annotations

import copy
import json
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import diff_specs, parse_deployment, revision_name, to_manifest
from orchestrator.spec.value_checks import quantity

from .spec_helpers import changed, example_manifest, without
from .spec_strategies import manifests

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
E0 = "spec.statefulEntities[0]"
P0 = f"{E0}.pods[0]"


def _name(manifest: dict[str, Any]) -> str:
    return revision_name(parse_deployment(manifest))


def test_the_name_is_the_deployment_and_ten_hex_digits() -> None:
    assert re.fullmatch(r"word-count-demo-[0-9a-f]{10}", _name(example_manifest()))


def test_the_hash_of_the_example_is_pinned() -> None:
    """Changing the canonical form renames every stored revision, so that every deployment
    would look changed after an upgrade: if this fails on purpose, plan a data migration."""
    assert _name(example_manifest()) == "word-count-demo-b8e5af121d"


def test_saving_the_same_spec_twice_gives_the_same_name() -> None:
    assert _name(example_manifest()) == _name(example_manifest())
    assert _name(to_manifest(parse_deployment(example_manifest()))) == _name(example_manifest())


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (f"{P0}.partitions", [1, "0"]),
        (f"{P0}.resources.requests.cpu", "0.25"),
        (f"{P0}.resources.requests.cpu", 0.25),
        (f"{P0}.resources.requests.memory", "65536Ki"),
        (f"{P0}.resources.requests.memory", 67108864),
        (f"{P0}.resources.limits.cpu", "0.5"),
        (f"{P0}.resources.limits.memory", "0.25Gi"),
        ("spec.statefulEntities[1].ioImage", "invoker/io-sidecar:0.1"),
        ("spec.imagePullSecrets", []),
        ("spec.imagePullSecrets", None),
        ("metadata.labels", {"team": "data"}),
        ("status", {"state": "Ready"}),
    ],
)
def test_a_different_spelling_of_the_same_spec_keeps_the_name(where: str, value: Any) -> None:
    assert _name(changed(example_manifest(), where, value)) == _name(example_manifest())


def test_the_order_of_entities_and_pods_does_not_matter() -> None:
    manifest = example_manifest()
    entities = manifest["spec"]["statefulEntities"]
    entities.reverse()
    entities[1]["pods"].reverse()
    assert _name(manifest) == _name(example_manifest())


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("metadata.name", "word-count-two"),
        ("spec.version", "v2"),
        ("spec.historyLimit", 6),
        ("spec.imagePullPolicy", "Always"),
        ("spec.imagePullSecrets", [{"name": "regcred"}]),
        (f"{E0}.name", "splitter2"),
        (f"{E0}.executorImage", "invoker/executor-word-count:0.2"),
        (f"{E0}.ioAddress", "127.0.0.1:9093"),
        (f"{E0}.inputPartitions", 6),
        (f"{E0}.outputTopic", "tokens"),
        (f"{P0}.name", "splitter-9"),
        (f"{P0}.resources.requests.cpu", "251m"),
        (f"{P0}.resources.requests", {"cpu": "250m"}),
        (f"{E0}.pods[3]", {"name": "splitter-3"}),
    ],
)
def test_any_real_change_changes_the_name(where: str, value: Any) -> None:
    assert _name(changed(example_manifest(), where, value)) != _name(example_manifest())


def test_moving_a_partition_changes_the_name() -> None:
    manifest = changed(
        changed(example_manifest(), f"{P0}.partitions", [0]), f"{E0}.pods[1].partitions", [1, 2, 3]
    )
    assert _name(manifest) != _name(example_manifest())


# --- properties ---------------------------------------------------------------------------


def _respell_quantity(text: str, rng: random.Random) -> Any:
    value, _ = quantity(str(text))
    assert value is not None
    spellings: list[Any] = [format(value.normalize(), "f"), f"{format((value * 1000).normalize(), 'f')}m"]
    if value == value.to_integral_value():
        spellings += [int(value), f"{format((value / 1024).normalize(), 'f')}Ki"]
    return rng.choice(spellings)


def _respelled(value: Any, rng: random.Random, key: str = "") -> Any:
    """The same manifest written differently: keys and lists shuffled, partitions as strings
    or ints, quantities in other units."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: _respelled(value[k], rng, k) for k in keys}
    if isinstance(value, list):
        items = [_respelled(item, rng) for item in value]
        rng.shuffle(items)
        return [rng.choice([str(i), int(i)]) for i in items] if key == "partitions" else items
    if key in ("cpu", "memory") and value is not None:
        return _respell_quantity(value, rng)
    return value


@SETTINGS
@given(manifests(), st.randoms(use_true_random=False))
def test_key_order_partition_order_and_notation_never_change_the_name(
    manifest: dict[str, Any], rng: random.Random
) -> None:
    assert _name(_respelled(copy.deepcopy(manifest), rng)) == _name(manifest)


def _real_changes(manifest: dict[str, Any]) -> list[list[tuple[str, Any]]]:
    """Edits that each change what the spec means (a move is two edits)."""
    limit = manifest["spec"].get("historyLimit") or 3
    changes = [[("spec.historyLimit", limit % 100 + 1)]]
    for i, entity in enumerate(manifest["spec"]["statefulEntities"]):
        path, pods = f"spec.statefulEntities[{i}]", entity["pods"]
        changes.append([(f"{path}.executorImage", entity["executorImage"] + "x")])
        changes.append([(f"{path}.pods[{len(pods)}]", {"name": f"{entity['name']}-new"})])
        for j, pod in enumerate(pods):
            changes.append([(f"{path}.pods[{j}].resources", {"limits": {"cpu": "9999m"}})])
            if pod["partitions"] and j + 1 < len(pods):
                moved = [*pods[j + 1]["partitions"], pod["partitions"][0]]
                changes.append(
                    [
                        (f"{path}.pods[{j}].partitions", pod["partitions"][1:]),
                        (f"{path}.pods[{j + 1}].partitions", moved),
                    ]
                )
    return changes


@SETTINGS
@given(manifests(), st.data())
def test_every_real_change_changes_the_name(manifest: dict[str, Any], data: st.DataObject) -> None:
    edited = manifest
    for path, value in data.draw(st.sampled_from(_real_changes(manifest))):
        edited = changed(edited, path, value)
    assert _name(edited) != _name(manifest)


# --- diffs --------------------------------------------------------------------------------


def _canonical(manifest: dict[str, Any]) -> dict[str, Any]:
    return to_manifest(parse_deployment(manifest))


def _change(path: str, change: str, old: Any, new: Any) -> dict[str, Any]:
    return {"path": path, "change": change, "old": old, "new": new}


def test_identical_manifests_have_no_differences() -> None:
    assert diff_specs(_canonical(example_manifest()), _canonical(example_manifest())) == []


def test_a_moved_partition_shows_as_two_partition_changes_addressed_by_name() -> None:
    old = _canonical(example_manifest())
    new = changed(changed(old, f"{P0}.partitions", [0]), f"{E0}.pods[1].partitions", [1, 2, 3])
    splitter = "spec.statefulEntities[splitter]"
    assert diff_specs(old, new) == [
        _change(f"{splitter}.pods[splitter-0].partitions", "changed", [0, 1], [0]),
        _change(f"{splitter}.pods[splitter-1].partitions", "changed", [2, 3], [1, 2, 3]),
    ]


def test_removing_the_first_entity_is_one_removal_not_a_change_to_every_later_one() -> None:
    old = _canonical(example_manifest())
    new = without(old, E0)
    [change] = diff_specs(old, new)
    assert (change["path"], change["change"], change["new"]) == (
        "spec.statefulEntities[splitter]",
        "removed",
        None,
    )
    assert change["old"]["executorImage"] == "invoker/executor-word-count:0.1"


def test_additions_scalar_changes_and_new_keys_are_listed() -> None:
    old = _canonical(example_manifest())
    new = changed(
        changed(old, "spec.historyLimit", 9), f"{E0}.pods[3]", {"name": "splitter-3", "partitions": []}
    )
    new = changed(new, f"{E0}.inputPartitions", 6)
    splitter = "spec.statefulEntities[splitter]"
    assert diff_specs(old, new) == [
        _change("spec.historyLimit", "changed", 5, 9),
        _change(f"{splitter}.pods[splitter-3]", "added", None, {"name": "splitter-3", "partitions": []}),
        _change(f"{splitter}.inputPartitions", "added", None, 6),
    ]


def test_reordering_named_items_is_not_a_difference() -> None:
    old = _canonical(example_manifest())
    new = copy.deepcopy(old)
    new["spec"]["statefulEntities"].reverse()
    assert diff_specs(old, new) == []


def test_a_changed_type_is_a_difference() -> None:
    assert diff_specs({"a": 1}, {"a": True}) == [{"path": "a", "change": "changed", "old": 1, "new": True}]
    assert diff_specs({"a": [1]}, {"a": ["1"]}) == [
        {"path": "a", "change": "changed", "old": [1], "new": ["1"]}
    ]


@SETTINGS
@given(manifests(), manifests())
def test_diffs_are_json_ready_and_empty_for_equal_manifests(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    old, new = _canonical(first), _canonical(second)
    changes = diff_specs(old, new)
    assert json.loads(json.dumps(changes)) == changes
    assert diff_specs(old, copy.deepcopy(old)) == []
    if old["metadata"] != new["metadata"]:
        assert changes[0]["path"] == "metadata.name"
