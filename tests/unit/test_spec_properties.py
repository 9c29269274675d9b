"""Properties of validation over generated manifests: valid ones pass and round-trip through
the canonical form, JSON and YAML; each kind of corruption is rejected at its own path."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from orchestrator import (
    dump_manifest_yaml,
    load_manifest_yaml,
    parse_deployment,
    to_manifest,
    validate_manifest,
)

from .spec_strategies import manifests

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CORRUPTION_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@SETTINGS
@given(manifests())
def test_generated_valid_manifests_are_accepted(manifest: dict[str, Any]) -> None:
    assert validate_manifest(manifest) == []


@SETTINGS
@given(manifests())
def test_the_canonical_manifest_parses_back_to_the_same_spec(manifest: dict[str, Any]) -> None:
    spec = parse_deployment(manifest)
    canonical = to_manifest(spec)
    assert parse_deployment(canonical) == spec
    assert to_manifest(parse_deployment(canonical)) == canonical
    assert parse_deployment(json.loads(json.dumps(canonical))) == spec


@SETTINGS
@given(manifests())
def test_yaml_export_and_import_round_trip(manifest: dict[str, Any]) -> None:
    spec = parse_deployment(manifest)
    assert parse_deployment(load_manifest_yaml(dump_manifest_yaml(to_manifest(spec)))) == spec
    assert parse_deployment(load_manifest_yaml(dump_manifest_yaml(manifest))) == spec


# --- corruptions: each returns the corrupted manifest, the error path and the error code ----

Corruption = Callable[[dict[str, Any], st.DataObject], tuple[str, str]]


def _pods(manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    entities = manifest["spec"]["statefulEntities"]
    return [
        (f"spec.statefulEntities[{i}].pods[{j}]", pod)
        for i, entity in enumerate(entities)
        for j, pod in enumerate(entity["pods"])
    ]


def _entities(manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"spec.statefulEntities[{i}]", e) for i, e in enumerate(manifest["spec"]["statefulEntities"])]


def _partition_owned_twice(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    candidates = [
        (path, entity, j, k)
        for path, entity in _entities(manifest)
        for j, pod in enumerate(entity["pods"])
        for k in range(len(pod["partitions"]))
    ]
    assume(candidates)
    path, entity, j, k = data.draw(st.sampled_from(candidates))
    value = entity["pods"][j]["partitions"][k]
    target = data.draw(st.integers(0, len(entity["pods"]) - 1))
    entity["pods"][target]["partitions"].append(data.draw(st.sampled_from([int(value), str(value)])))
    if target < j:  # the target's claim comes first in document order, so the original is the second
        return f"{path}.pods[{j}].partitions[{k}]", "duplicate"
    return f"{path}.pods[{target}].partitions[{len(entity['pods'][target]['partitions']) - 1}]", "duplicate"


def _bad_name(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    owners = [("metadata", manifest["metadata"]), *_entities(manifest), *_pods(manifest)]
    path, owner = data.draw(st.sampled_from(owners))
    owner["name"] = data.draw(
        st.sampled_from(["Upper", "under_score", "-lead", "trail-", "a" * 53, "", "dot.ted"])
    )
    return f"{path}.name", "invalid_value"


def _requests_above_limits(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    pods = _pods(manifest)
    assume(pods)
    path, pod = data.draw(st.sampled_from(pods))
    limit = data.draw(st.integers(1, 4000))
    request = data.draw(st.sampled_from([f"{limit + 1}m", str((limit + 1) / 1000), f"{limit}1m"]))
    pod["resources"] = {"requests": {"cpu": request}, "limits": {"cpu": f"{limit}m"}}
    return f"{path}.resources.requests.cpu", "exceeds_limit"


def _bad_quantity(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    pods = _pods(manifest)
    assume(pods)
    path, pod = data.draw(st.sampled_from(pods))
    bad = data.draw(st.sampled_from(["1Xi", "lots", "1.2.3", "--1", "1 Gi", "", "0x10", "1e", "Mi", "-1Gi"]))
    pod["resources"] = {"requests": {"memory": bad}}
    return f"{path}.resources.requests.memory", "invalid_value"


def _duplicate_pod_name(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    pods = _pods(manifest)
    assume(len(pods) >= 2)
    first, second = sorted(
        data.draw(st.lists(st.integers(0, len(pods) - 1), min_size=2, max_size=2, unique=True))
    )
    pods[second][1]["name"] = pods[first][1]["name"]
    return f"{pods[second][0]}.name", "duplicate"


def _unknown_field(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    places = [("", manifest), ("metadata", manifest["metadata"]), ("spec", manifest["spec"])]
    path, place = data.draw(st.sampled_from(places + _entities(manifest) + _pods(manifest)))
    key = data.draw(
        st.from_regex(r"\A[a-z][a-zA-Z]{0,10}\Z").filter(lambda k: k not in place and k != "status")
    )
    place[key] = data.draw(st.one_of(st.none(), st.integers(), st.text(max_size=5)))
    return f"{path}.{key}" if path else key, "unknown_field"


def _wrong_type(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    choices = [
        ("spec", manifest["spec"], "historyLimit", "three"),
        ("spec", manifest["spec"], "version", 1.5),
    ]
    choices += [(path, entity, "inputTopic", 5) for path, entity in _entities(manifest)]
    choices += [(path, entity, "pods", {}) for path, entity in _entities(manifest)]
    choices += [(path, pod, "partitions", "0,1") for path, pod in _pods(manifest)]
    path, owner, key, value = data.draw(st.sampled_from(choices))
    owner[key] = value
    return f"{path}.{key}", "invalid_type"


def _missing_required(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    entities = _entities(manifest)
    assume(entities)
    path, entity = data.draw(st.sampled_from(entities))
    key = data.draw(
        st.sampled_from(["name", "executorImage", "ioAddress", "inputTopic", "outputTopic", "pods"])
    )
    del entity[key]
    return f"{path}.{key}", "required"


def _partition_out_of_range(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    known = [(path, e) for path, e in _entities(manifest) if e.get("inputPartitions") and e["pods"]]
    assume(known)
    path, entity = data.draw(st.sampled_from(known))
    j = data.draw(st.integers(0, len(entity["pods"]) - 1))
    partitions = entity["pods"][j]["partitions"]
    partitions.append(entity["inputPartitions"] + data.draw(st.integers(0, 1000)))
    return f"{path}.pods[{j}].partitions[{len(partitions) - 1}]", "out_of_range"


def _reads_its_own_output(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    entities = _entities(manifest)
    assume(entities)
    path, entity = data.draw(st.sampled_from(entities))
    entity["outputTopic"] = entity["inputTopic"]
    return f"{path}.outputTopic", "conflict"


def _bad_image(manifest: dict[str, Any], data: st.DataObject) -> tuple[str, str]:
    entities = _entities(manifest)
    assume(entities)
    path, entity = data.draw(st.sampled_from(entities))
    key = data.draw(st.sampled_from(["executorImage", "ioImage", "stateImage"]))
    entity[key] = data.draw(
        st.sampled_from(["UPPER", "a b", "a:", ":tag", "a@sha256:12", "a//b", "-a", "a/"])
    )
    return f"{path}.{key}", "invalid_value"


CORRUPTIONS: list[Corruption] = [
    _partition_owned_twice,
    _bad_name,
    _requests_above_limits,
    _bad_quantity,
    _duplicate_pod_name,
    _unknown_field,
    _wrong_type,
    _missing_required,
    _partition_out_of_range,
    _reads_its_own_output,
    _bad_image,
]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda corrupt: corrupt.__name__.strip("_"))
@CORRUPTION_SETTINGS
@given(manifest=manifests(), data=st.data())
def test_a_corrupted_manifest_is_rejected_at_the_corrupted_path(
    corrupt: Corruption, manifest: dict[str, Any], data: st.DataObject
) -> None:
    corrupted = copy.deepcopy(manifest)
    path, code = corrupt(corrupted, data)
    errors = {(error.path, error.code) for error in validate_manifest(corrupted)}
    assert (path, code) in errors, f"expected {code} at {path}, got {sorted(errors)}"
