"""The spec's one declaration (orchestrator.spec.schema) is what the validator, the CRD's schema
and the editor's field list follow: the chart's CRD is its generated output, the validator
accepts exactly its keys with its required fields, bounds, choices and defaults, and a new
entity made from the editor's template is valid."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from orchestrator import parse_deployment, to_manifest
from orchestrator.reconciler import status
from orchestrator.spec import crd_schema, status_schema
from orchestrator.spec import editor_fields as spec_editor
from orchestrator.spec import model as spec
from orchestrator.spec import schema as declared
from orchestrator.spec.model import DeploymentSpec, EntitySpec, PodSpec

from .spec_helpers import changed, example_manifest, rejection, without

E0 = "spec.statefulEntities[0]"
P0 = f"{E0}.pods[0]"
#: Where each declared model sits in the example manifest.
LEVELS: list[tuple[type[BaseModel], str]] = [
    (declared.DeploymentSpec, "spec"),
    (declared.StatefulEntity, E0),
    (declared.Pod, P0),
]


def _walk(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [node, *(found for value in node.values() for found in _walk(value))]
    if isinstance(node, list):
        return [found for value in node for found in _walk(value)]
    return []


def test_the_charts_crd_is_the_one_generated_from_the_declaration() -> None:
    assert crd_schema.CHART_COPY.read_text() == crd_schema.crd_yaml(), (
        "charts/invoker/crds/invokerdeployments.yaml is stale: python -m orchestrator.spec.crd_schema --write"
    )
    assert crd_schema.main(["--check"]) == 0


def test_the_crd_schema_is_structural_and_names_every_declared_key() -> None:
    schema = crd_schema.crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for node in _walk(schema):
        assert not {"$ref", "$defs", "anyOf", "oneOf", "allOf", "default", "title"} & set(node), node
    spec = schema["properties"]["spec"]
    assert tuple(spec["properties"]) == declared.keys(declared.DeploymentSpec)
    entity = spec["properties"]["statefulEntities"]["items"]
    assert tuple(entity["properties"]) == declared.keys(declared.StatefulEntity)
    assert tuple(entity["required"]) == declared.required(declared.StatefulEntity)
    pod = entity["properties"]["pods"]["items"]
    assert pod["properties"]["partitions"]["items"] == {"x-kubernetes-int-or-string": True}
    assert schema["properties"]["status"]["properties"]["currentRevision"]["nullable"] is True


@pytest.mark.parametrize(("model", "path"), LEVELS)
def test_the_validator_lists_exactly_the_declared_keys(model: type[BaseModel], path: str) -> None:
    (error,) = rejection(changed(example_manifest(), f"{path}.colour", "red"))
    assert (error.path, error.code) == (f"{path}.colour", "unknown_field")
    assert error.message == f"unknown field (expected one of: {', '.join(declared.keys(model))})"


@pytest.mark.parametrize(("model", "path"), LEVELS)
def test_every_declared_required_key_is_required_and_no_other(model: type[BaseModel], path: str) -> None:
    example = example_manifest()
    present = _node(example, path)
    for key in declared.keys(model):
        if key in declared.required(model):
            errors = rejection(without(example, f"{path}.{key}"))
            assert [(e.path, e.code) for e in errors] == [(f"{path}.{key}", "required")]
        elif key in present:
            parse_deployment(without(example, f"{path}.{key}"))


def _node(manifest: dict[str, Any], path: str) -> Any:
    node: Any = manifest
    for part in path.replace("]", "").replace("[", ".").split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    return node


def test_a_missing_field_takes_its_declared_default() -> None:
    bare = example_manifest()
    for key in ("version", "imagePullPolicy", "historyLimit", "imagePullSecrets"):
        bare = without(bare, f"spec.{key}") if key in bare["spec"] else bare
    for key in ("ioImage", "stateImage"):
        bare = without(bare, f"{E0}.{key}") if key in bare["spec"]["statefulEntities"][0] else bare
    written = to_manifest(parse_deployment(bare))
    for key in ("version", "imagePullPolicy", "historyLimit", "imagePullSecrets"):
        assert written["spec"][key] == declared.default(declared.DeploymentSpec, key)
    for key in ("ioImage", "stateImage"):
        assert written["spec"]["statefulEntities"][0][key] == declared.default(declared.StatefulEntity, key)


def test_the_declared_bounds_and_choices_are_the_validators() -> None:
    low, high = declared.bounds(declared.DeploymentSpec, "historyLimit")
    (error,) = rejection(changed(example_manifest(), "spec.historyLimit", high + 1))
    assert error.message == f"must be between {low} and {high}, got {high + 1}"
    assert parse_deployment(changed(example_manifest(), "spec.historyLimit", high)).history_limit == high
    low, high = declared.bounds(declared.StatefulEntity, "inputPartitions")
    (error,) = rejection(changed(example_manifest(), f"{E0}.inputPartitions", low - 1))
    assert error.message == f"must be between {low} and {high}, got {low - 1}"
    choices = declared.choices(declared.DeploymentSpec, "imagePullPolicy")
    (error,) = rejection(changed(example_manifest(), "spec.imagePullPolicy", "Sometimes"))
    assert error.message == f"'Sometimes' is not one of {', '.join(choices)}"


def test_a_canonical_manifest_is_valid_against_the_declaration_too() -> None:
    manifest = to_manifest(parse_deployment(example_manifest()))
    model = declared.InvokerDeployment.model_validate(manifest)
    assert model.model_dump(by_alias=True, exclude_none=True, exclude={"status"})["spec"] == manifest["spec"]


def test_the_editors_field_list_and_new_entity_come_from_the_declaration() -> None:
    fields = spec_editor.editor_fields()
    assert [f["key"] for f in fields["entity"]] == [
        k for k in declared.keys(declared.StatefulEntity) if k != "pods"
    ]
    assert [f["key"] for f in fields["deployment"]] == list(declared.keys(declared.DeploymentSpec))[:-1]
    policy = next(f for f in fields["deployment"] if f["key"] == "imagePullPolicy")
    assert (policy["default"], policy["choices"]) == ("IfNotPresent", ["Always", "IfNotPresent", "Never"])
    assert fields["resources"] == {
        "sections": ("requests", "limits"),
        "names": ("cpu", "memory", "ephemeral-storage"),
    }
    entity = {
        **fields["newEntity"],
        "name": "added",
        "inputTopic": "a-in",
        "outputTopic": "a-out",
        "pods": [],
    }
    manifest = changed(example_manifest(), "spec.statefulEntities[2]", entity)
    added = parse_deployment(manifest).entity("added")
    assert added is not None
    assert added.io_image == declared.default(declared.StatefulEntity, "ioImage")


@pytest.mark.parametrize(
    ("dataclass", "model", "renamed"),
    [
        (DeploymentSpec, declared.DeploymentSpec, {"entities": "stateful_entities"}),
        (EntitySpec, declared.StatefulEntity, {}),
        (PodSpec, declared.Pod, {}),
    ],
)
def test_the_dataclasses_hold_the_declared_fields(
    dataclass: type, model: type[BaseModel], renamed: dict
) -> None:
    """The typed values are still dataclasses (spec.py); their attributes must be the
    declaration's fields, so that neither gains a field the other lacks."""
    attributes = {renamed.get(name, name) for name in dataclass.__dataclass_fields__}
    expected = set(model.model_fields) | ({"name"} if model is declared.DeploymentSpec else set())
    assert attributes == expected


def test_the_generated_file_is_yaml_of_the_crd() -> None:
    assert yaml.safe_load(crd_schema.crd_yaml()) == crd_schema.crd()


def test_the_typed_values_write_the_declared_keys_under_the_declared_attributes() -> None:
    """spec.py cannot import the declaration (the declaration reads its constants), so its
    key-to-attribute table and resource names are held to the declaration here."""
    entity = declared.StatefulEntity.model_fields
    declared_pairs = {(info.alias or name, name) for name, info in entity.items()} - {("pods", "pods")}
    assert set(spec.ENTITY_FIELDS) | {("inputPartitions", "input_partitions")} == declared_pairs
    assert declared.keys(declared.Resources) == spec.RESOURCE_SECTIONS
    assert declared.keys(declared.ResourceAmounts) == spec.RESOURCE_NAMES
    assert tuple(to_manifest(parse_deployment(example_manifest()))["spec"]) == declared.keys(
        declared.DeploymentSpec
    )


def test_the_states_the_orchestrator_writes_are_the_declared_ones() -> None:
    assert (
        status.READY,
        status.UPGRADING,
        status.DEGRADED,
        status.FAILED,
        status.PENDING,
    ) == status_schema.STATES
