"""Every rejection rule of parse_deployment, one table row each: the change made to the
word-count example, the exact field path of the error, a fragment of its message and its code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestrator import (
    DEFAULT_IO_IMAGE,
    DEFAULT_STATE_IMAGE,
    DeploymentSpec,
    PodSpec,
    load_manifest_yaml,
    parse_deployment,
    validate_manifest,
)
from orchestrator.spec.fields import describe

from .spec_helpers import EXAMPLE_PATH, changed, example_manifest, rejection, without

DELETE = object()
E0 = "spec.statefulEntities[0]"
E1 = "spec.statefulEntities[1]"
P0 = f"{E0}.pods[0]"
P1 = f"{E0}.pods[1]"
REQ = f"{P0}.resources.requests"

# (change at, new value or DELETE, error path, message fragment, code)
REJECTIONS: list[tuple[str, Any, str, str, str]] = [
    # the document
    (
        "apiVersion",
        "v1",
        "apiVersion",
        "must be invokeroperator.invoker.io/v1alpha1, got 'v1'",
        "invalid_value",
    ),
    ("kind", "Deployment", "kind", "must be InvokerDeployment", "invalid_value"),
    ("apiVersion", DELETE, "apiVersion", "required field is missing", "required"),
    ("spec", DELETE, "spec", "required field is missing", "required"),
    ("spec", [], "spec", "must be a mapping, got a list", "invalid_type"),
    ("extra", 1, "extra", "unknown field", "unknown_field"),
    ("metadata", "demo", "metadata", "must be a mapping, got 'demo'", "invalid_type"),
    ("metadata.name", DELETE, "metadata.name", "required field is missing", "required"),
    ("metadata.name", "Word_Count", "metadata.name", "is not a valid name", "invalid_value"),
    ("metadata.name", "a" * 53, "metadata.name", "at most 52 are allowed", "invalid_value"),
    ("metadata.name", "-demo", "metadata.name", "is not a valid name", "invalid_value"),
    ("metadata.colour", "red", "metadata.colour", "unknown field", "unknown_field"),
    # spec scalars
    ("spec.historyLimit", "three", "spec.historyLimit", "must be an integer, got 'three'", "invalid_type"),
    ("spec.historyLimit", 0, "spec.historyLimit", "must be between 1 and 100, got 0", "out_of_range"),
    ("spec.historyLimit", True, "spec.historyLimit", "must be an integer, got true", "invalid_type"),
    ("spec.historyLimit", 2.5, "spec.historyLimit", "must be an integer, got 2.5", "invalid_type"),
    (
        "spec.imagePullPolicy",
        "Sometimes",
        "spec.imagePullPolicy",
        "not one of Always, IfNotPresent, Never",
        "invalid_value",
    ),
    ("spec.imagePullPolicy", "always", "spec.imagePullPolicy", "not one of", "invalid_value"),
    ("spec.version", 1.1, "spec.version", "must be a string, got 1.1 (quote it in YAML)", "invalid_type"),
    ("spec.version", "v1 beta", "spec.version", "must be letters, digits", "invalid_value"),
    ("spec.version", "v" * 64, "spec.version", "at most 63 are allowed", "invalid_value"),
    ("spec.colour", "red", "spec.colour", "unknown field", "unknown_field"),
    ("spec.statefulEntity", [], "spec.statefulEntity", "did you mean 'statefulEntities'?", "unknown_field"),
    ("spec.statefulEntities", DELETE, "spec.statefulEntities", "required field is missing", "required"),
    ("spec.statefulEntities", {}, "spec.statefulEntities", "must be a list, got a mapping", "invalid_type"),
    # image pull secrets
    ("spec.imagePullSecrets", "regcred", "spec.imagePullSecrets", "must be a list", "invalid_type"),
    ("spec.imagePullSecrets", ["regcred"], "spec.imagePullSecrets[0]", "must be a mapping", "invalid_type"),
    ("spec.imagePullSecrets", [{}], "spec.imagePullSecrets[0].name", "required field is missing", "required"),
    (
        "spec.imagePullSecrets",
        [{"name": "Reg_Cred"}],
        "spec.imagePullSecrets[0].name",
        "not a valid name",
        "invalid_value",
    ),
    (
        "spec.imagePullSecrets",
        [{"name": "a"}, {"name": "a"}],
        "spec.imagePullSecrets[1].name",
        "listed twice",
        "duplicate",
    ),
    (
        "spec.imagePullSecrets",
        [{"name": "a", "key": 1}],
        "spec.imagePullSecrets[0].key",
        "unknown field",
        "unknown_field",
    ),
    # entities
    (E0, "splitter", E0, "must be a mapping, got 'splitter'", "invalid_type"),
    (f"{E0}.colour", "red", f"{E0}.colour", "unknown field", "unknown_field"),
    (f"{E0}.name", DELETE, f"{E0}.name", "required field is missing", "required"),
    (f"{E0}.name", "Splitter", f"{E0}.name", "not a valid name", "invalid_value"),
    (f"{E0}.name", "s" * 53, f"{E0}.name", "53 characters long; at most 52", "invalid_value"),
    (
        f"{E1}.name",
        "splitter",
        f"{E1}.name",
        "entity name 'splitter' is already used by spec.statefulEntities[0]",
        "duplicate",
    ),
    (f"{E0}.executorImage", DELETE, f"{E0}.executorImage", "required field is missing", "required"),
    (
        f"{E0}.executorImage",
        "Invoker/Word-Count",
        f"{E0}.executorImage",
        "repository name must be lowercase",
        "invalid_value",
    ),
    (
        f"{E0}.executorImage",
        "word count:1",
        f"{E0}.executorImage",
        "not a valid image reference",
        "invalid_value",
    ),
    (f"{E0}.executorImage", "", f"{E0}.executorImage", "must not be empty", "invalid_value"),
    (
        f"{E0}.executorImage",
        "wc@sha256:abc",
        f"{E0}.executorImage",
        "not a valid image reference",
        "invalid_value",
    ),
    (
        f"{E0}.executorImage",
        "wc@md5:" + "a" * 32,
        f"{E0}.executorImage",
        "unsupported digest algorithm",
        "invalid_value",
    ),
    (
        f"{E0}.executorImage",
        "wc@sha256:" + "a" * 63,
        f"{E0}.executorImage",
        "malformed sha256 digest",
        "invalid_value",
    ),
    (f"{E0}.ioImage", "io-sidecar:", f"{E0}.ioImage", "not a valid image reference", "invalid_value"),
    (f"{E0}.stateImage", 7, f"{E0}.stateImage", "must be a string, got 7", "invalid_type"),
    (f"{E0}.ioAddress", DELETE, f"{E0}.ioAddress", "required field is missing", "required"),
    (f"{E0}.ioAddress", "kafka", f"{E0}.ioAddress", "'kafka' is not host:port", "invalid_value"),
    (f"{E0}.ioAddress", "kafka:0", f"{E0}.ioAddress", "'kafka:0' is not host:port", "invalid_value"),
    (f"{E0}.ioAddress", "kafka:65536", f"{E0}.ioAddress", "is not host:port", "invalid_value"),
    (f"{E0}.ioAddress", "a:1,,b:2", f"{E0}.ioAddress", "'' is not host:port", "invalid_value"),
    (f"{E0}.ioAddress", "a:1, b:2", f"{E0}.ioAddress", "' b:2' is not host:port", "invalid_value"),
    (f"{E0}.ioAddress", "300.1.1.1:9092", f"{E0}.ioAddress", "is not host:port", "invalid_value"),
    (f"{E0}.ioAddress", "[::g]:9092", f"{E0}.ioAddress", "is not host:port", "invalid_value"),
    (f"{E0}.inputTopic", DELETE, f"{E0}.inputTopic", "required field is missing", "required"),
    (f"{E0}.inputTopic", "lines!", f"{E0}.inputTopic", "not a valid topic name", "invalid_value"),
    (f"{E0}.inputTopic", "..", f"{E0}.inputTopic", "not allowed as a topic name", "invalid_value"),
    (f"{E0}.outputTopic", "t" * 250, f"{E0}.outputTopic", "at most 249 are allowed", "invalid_value"),
    (
        f"{E0}.outputTopic",
        "lines",
        f"{E0}.outputTopic",
        "must not write the topic it reads ('lines')",
        "conflict",
    ),
    (
        f"{E0}.inputPartitions",
        "six",
        f"{E0}.inputPartitions",
        "must be an integer, got 'six'",
        "invalid_type",
    ),
    (f"{E0}.inputPartitions", 0, f"{E0}.inputPartitions", "must be between 1 and 100000", "out_of_range"),
    (
        f"{E0}.inputPartitions",
        5,
        f"{E0}.pods[2].partitions[1]",
        "partition 5 is out of range: inputPartitions is 5",
        "out_of_range",
    ),
    (
        f"{E0}.inputPartitions",
        8,
        f"{E0}.pods",
        "partitions 6, 7 of the input topic (8 in all) are not assigned",
        "unassigned",
    ),
    (f"{E0}.pods", DELETE, f"{E0}.pods", "required field is missing", "required"),
    (f"{E0}.pods", "splitter-0", f"{E0}.pods", "must be a list", "invalid_type"),
    # pods
    (P0, ["splitter-0"], P0, "must be a mapping, got a list", "invalid_type"),
    (f"{P0}.colour", "red", f"{P0}.colour", "unknown field", "unknown_field"),
    (f"{P0}.name", DELETE, f"{P0}.name", "required field is missing", "required"),
    (f"{P0}.name", "splitter_0", f"{P0}.name", "not a valid name", "invalid_value"),
    (f"{P0}.name", "p" * 53, f"{P0}.name", "at most 52 are allowed", "invalid_value"),
    (f"{P0}.name", "main", f"{P0}.name", "'main' is reserved", "invalid_value"),
    (
        f"{P1}.name",
        "splitter-0",
        f"{P1}.name",
        "pod name 'splitter-0' is already used by spec.statefulEntities[0].pods[0]",
        "duplicate",
    ),
    (
        f"{E1}.pods[0].name",
        "splitter-2",
        f"{E1}.pods[0].name",
        "already used by spec.statefulEntities[0].pods[2]",
        "duplicate",
    ),
    # partitions
    (f"{P0}.partitions", "0,1", f"{P0}.partitions", "must be a list", "invalid_type"),
    (
        f"{P1}.partitions[1]",
        "x",
        f"{P1}.partitions[1]",
        "must be a non-negative integer or a string of digits, got 'x'",
        "invalid_type",
    ),
    (f"{P1}.partitions[1]", "03", f"{P1}.partitions[1]", "'03' has a leading zero; write 3", "invalid_value"),
    (f"{P1}.partitions[1]", "+3", f"{P1}.partitions[1]", "got '+3'", "invalid_type"),
    (f"{P1}.partitions[1]", " 3", f"{P1}.partitions[1]", "got ' 3'", "invalid_type"),
    (f"{P1}.partitions[1]", -3, f"{P1}.partitions[1]", "must not be negative, got -3", "invalid_value"),
    (f"{P1}.partitions[1]", 3.0, f"{P1}.partitions[1]", "got 3.0", "invalid_type"),
    (f"{P1}.partitions[1]", True, f"{P1}.partitions[1]", "got true", "invalid_type"),
    (f"{P1}.partitions[1]", None, f"{P1}.partitions[1]", "got null", "invalid_type"),
    (
        f"{P1}.partitions[1]",
        2**31,
        f"{P1}.partitions[1]",
        "must be at most 2147483647 (Kafka's largest partition id), got 2147483648",
        "out_of_range",
    ),
    (
        f"{P1}.partitions[2]",
        1,
        f"{P1}.partitions[2]",
        "partition 1 is assigned to two pods (splitter-0 and splitter-1)",
        "duplicate",
    ),
    (
        f"{P1}.partitions[2]",
        "0",
        f"{P1}.partitions[2]",
        "partition 0 is assigned to two pods (splitter-0 and splitter-1)",
        "duplicate",
    ),
    (
        f"{P1}.partitions[2]",
        2,
        f"{P1}.partitions[2]",
        "partition 2 is listed twice in pod splitter-1",
        "duplicate",
    ),
    (
        f"{P1}.partitions[2]",
        "2",
        f"{P1}.partitions[2]",
        "partition 2 is listed twice in pod splitter-1",
        "duplicate",
    ),
    (f"{P1}.partitions[1]", "9" * 5000, f"{P1}.partitions[1]", "got '99999", "out_of_range"),
    (f"{P1}.partitions[1]", 10**5000, f"{P1}.partitions[1]", "got an integer of 16610 bits", "out_of_range"),
    # resources
    (f"{P0}.resources", "small", f"{P0}.resources", "must be a mapping", "invalid_type"),
    (f"{P0}.resources.claims", [], f"{P0}.resources.claims", "unknown field", "unknown_field"),
    (f"{P0}.resources.requests", ["cpu"], f"{P0}.resources.requests", "must be a mapping", "invalid_type"),
    (f"{REQ}.gpu", 1, f"{REQ}.gpu", "expected one of: cpu, memory, ephemeral-storage", "unknown_field"),
    (f"{REQ}.memroy", "1Gi", f"{REQ}.memroy", "did you mean 'memory'?", "unknown_field"),
    (f"{REQ}.cpu", "1Xi", f"{REQ}.cpu", "'1Xi' is not a valid quantity", "invalid_value"),
    (f"{REQ}.cpu", "1ki", f"{REQ}.cpu", "not a valid quantity", "invalid_value"),
    (f"{REQ}.cpu", " 1", f"{REQ}.cpu", "not a valid quantity", "invalid_value"),
    (f"{REQ}.cpu", "1_000m", f"{REQ}.cpu", "not a valid quantity", "invalid_value"),
    (f"{REQ}.cpu", "NaN", f"{REQ}.cpu", "not a valid quantity", "invalid_value"),
    (f"{REQ}.cpu", float("inf"), f"{REQ}.cpu", "not a valid quantity", "invalid_value"),
    (f"{REQ}.cpu", "1e9999999999999999999999", f"{REQ}.cpu", "is too large", "invalid_value"),
    (f"{REQ}.cpu", "1e-9999999999999999999999", f"{REQ}.cpu", "smaller than the smallest", "invalid_value"),
    (f"{REQ}.cpu", "-250m", f"{REQ}.cpu", "must not be negative", "invalid_value"),
    (f"{REQ}.cpu", "1e999999999", f"{REQ}.cpu", "'1e999999999' is too large", "invalid_value"),
    (f"{REQ}.cpu", "1e-12", f"{REQ}.cpu", "smaller than the smallest unit, 1n", "invalid_value"),
    (f"{REQ}.cpu", True, f"{REQ}.cpu", "must be a quantity such as 250m or 64Mi, got true", "invalid_type"),
    (f"{REQ}.cpu", "2", f"{REQ}.cpu", "request 2 is greater than the limit 500m", "exceeds_limit"),
    (f"{REQ}.cpu", 0.6, f"{REQ}.cpu", "request 0.6 is greater than the limit 500m", "exceeds_limit"),
    (f"{REQ}.memory", "1Gi", f"{REQ}.memory", "request 1Gi is greater than the limit 256Mi", "exceeds_limit"),
    (f"{REQ}.ephemeral-storage", "2G", f"{REQ}.ephemeral-storage", "", "exceeds_limit"),
]
# The last row needs a limit to exceed.
_NEEDS_STORAGE_LIMIT = f"{REQ}.ephemeral-storage"


def _row_id(row: tuple[str, Any, str, str, str]) -> str:
    return f"{row[0]}={'<deleted>' if row[1] is DELETE else describe(row[1])[:20]}"


@pytest.mark.parametrize(
    ("where", "value", "path", "fragment", "code"), REJECTIONS, ids=map(_row_id, REJECTIONS)
)
def test_it_rejects_a_bad_field_naming_its_path(
    where: str, value: Any, path: str, fragment: str, code: str
) -> None:
    manifest = example_manifest()
    if where == _NEEDS_STORAGE_LIMIT:
        manifest = changed(manifest, f"{P0}.resources.limits.ephemeral-storage", "1Gi")
    manifest = without(manifest, where) if value is DELETE else changed(manifest, where, value)
    errors = rejection(manifest)
    matching = [e for e in errors if e.path == path and fragment in e.message]
    assert matching, f"no error at {path} containing {fragment!r}; got {[str(e) for e in errors]}"
    assert matching[0].code == code


@pytest.mark.parametrize("manifest", [None, [], "apiVersion: x", 42], ids=["null", "list", "string", "int"])
def test_it_rejects_a_document_that_is_not_a_mapping(manifest: object) -> None:
    [error] = rejection(manifest)
    assert (error.path, error.code) == ("", "invalid_type")
    assert str(error).startswith("must be a mapping")


def test_it_reports_every_problem_at_once_in_document_order() -> None:
    manifest = example_manifest()
    for where, value in [
        ("spec.historyLimit", "three"),
        (f"{P1}.partitions[2]", 1),
        (f"{REQ}.cpu", "lots"),
        (f"{E1}.colour", "red"),
        (f"{E0}.pods[2].partitions", [4, 5, 4, "x"]),
    ]:
        manifest = changed(manifest, where, value)
    paths = [error.path for error in rejection(manifest)]
    assert paths == [
        "spec.historyLimit",
        f"{REQ}.cpu",
        f"{P1}.partitions[2]",
        f"{E0}.pods[2].partitions[2]",
        f"{E0}.pods[2].partitions[3]",
        f"{E1}.colour",
    ]


def test_it_names_the_field_in_the_error_text() -> None:
    errors = rejection(changed(example_manifest(), "spec.historyLimit", "three"))
    assert [str(e) for e in errors] == ["spec.historyLimit: must be an integer, got 'three'"]


def test_it_requires_every_partition_of_a_known_topic_to_be_owned_so_zero_pods_is_refused() -> None:
    manifest = changed(changed(example_manifest(), f"{E1}.inputPartitions", 6), f"{E1}.pods", [])
    [error] = rejection(manifest)
    assert (error.path, error.code) == (f"{E1}.pods", "unassigned")
    assert "partitions 0, 1, 2, 3, 4, 5 of the input topic (6 in all)" in error.message


def test_it_lists_only_the_first_unassigned_partitions() -> None:
    manifest = changed(example_manifest(), f"{E0}.inputPartitions", 100)
    [error] = rejection(manifest)
    assert "partitions 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 and 84 more" in error.message


def test_it_requires_readers_of_one_topic_to_agree_on_its_partition_count() -> None:
    manifest = changed(example_manifest(), f"{E1}.inputTopic", "lines")
    manifest = changed(changed(manifest, f"{E0}.inputPartitions", 6), f"{E1}.inputPartitions", 7)
    manifest = changed(manifest, f"{E1}.pods[0].partitions", list(range(7)))
    [error] = rejection(manifest)
    assert (error.path, error.code) == (f"{E1}.inputPartitions", "conflict")
    assert "topic 'lines' has 6 partitions according to spec.statefulEntities[0], not 7" in error.message


def test_it_quotes_odd_keys_in_paths() -> None:
    errors = rejection(changed(example_manifest(), "spec", {**example_manifest()["spec"], "a b": 1, 3: 4}))
    assert {e.path for e in errors} == {"spec['a b']", "spec[3]"}


def test_validate_manifest_returns_the_errors_instead_of_raising() -> None:
    assert validate_manifest(example_manifest()) == []
    assert [e.path for e in validate_manifest(changed(example_manifest(), "kind", "X"))] == ["kind"]


# --- what is accepted ---------------------------------------------------------------------


def test_it_parses_the_example_into_typed_values() -> None:
    spec = parse_deployment(example_manifest())
    assert isinstance(spec, DeploymentSpec)
    assert (spec.name, spec.version, spec.history_limit, spec.image_pull_policy) == (
        "word-count-demo", "v1", 5, "IfNotPresent",
    )  # fmt: skip
    splitter, totals = spec.entities
    assert splitter.pods[0] == PodSpec(
        "splitter-0",
        (0, 1),
        {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
    )
    assert totals.pods[0].partitions == (0, 1, 2, 3, 4, 5)
    assert (totals.io_image, totals.state_image) == (DEFAULT_IO_IMAGE, DEFAULT_STATE_IMAGE)
    assert totals.input_partitions is None


@pytest.mark.parametrize(
    ("written", "fragment", "code"),
    [
        # YAML 1.1 would have read these as 8, 16, 1000, 90, 8, 5 and 10.0
        ("010", "'010' has a leading zero; write 10", "invalid_value"),
        ("0x10", "must be a non-negative integer or a string of digits, got '0x10'", "invalid_type"),
        ("1_000", "got '1_000'", "invalid_type"),
        ("1:30", "got '1:30'", "invalid_type"),
        ("0o10", "got '0o10'", "invalid_type"),
        ("+5", "got '+5'", "invalid_type"),
        ("1e1", "got 10.0", "invalid_type"),
    ],
)
def test_a_partition_must_be_written_as_a_plain_decimal_in_yaml_and_json_alike(
    written: str, fragment: str, code: str
) -> None:
    yaml_text = EXAMPLE_PATH.read_text().replace('partitions: ["2", "3"]', f"partitions: [2, {written}]")
    from_yaml = rejection(load_manifest_yaml(yaml_text))
    json_value = json.loads(written) if written == "1e1" else written  # the others are not JSON numbers
    from_json = rejection(changed(example_manifest(), f"{P1}.partitions", [2, json_value]))
    for errors in (from_yaml, from_json):
        assert [(e.path, e.code) for e in errors] == [(f"{P1}.partitions[1]", code)]
        assert fragment in errors[0].message


def test_it_stores_partitions_as_sorted_integers() -> None:
    spec = parse_deployment(changed(example_manifest(), f"{P1}.partitions", ["3", 2, "10"]))
    assert spec.entities[0].pods[1].partitions == (2, 3, 10)


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("status", {"state": "Ready", "currentRevision": "x", "anything": [1]}),
        ("metadata.namespace", "streams"),
        ("metadata.labels", {"team": "data"}),
        ("metadata.creationTimestamp", None),
        ("spec.imagePullSecrets", None),
        ("spec.imagePullSecrets", [{"name": "registry.example.com"}]),
        ("spec.statefulEntities", []),
        (f"{E0}.ioImage", None),
        (f"{E0}.inputPartitions", 6),
        (f"{E0}.executorImage", "registry.local:5000/team/word-count:1.2@sha256:" + "a" * 64),
        (f"{E0}.executorImage", "[::1]:5000/wc"),
        (f"{E0}.executorImage", "wc@sha512:" + "0" * 128),
        (f"{E0}.ioAddress", "kafka-0.kafka:9092,kafka-1.kafka:9092,[::1]:9093,10.0.0.1:9094"),
        (f"{E0}.inputTopic", "__a.b-c_D9"),
        (f"{E0}.pods[3]", {"name": "splitter-3"}),
        (f"{E0}.pods[3]", {"name": "splitter-3", "partitions": [], "resources": {}}),
        (f"{REQ}.cpu", 0.25),
        (f"{REQ}.cpu", "0.5"),
        (f"{REQ}.cpu", "+500m"),
        (f"{REQ}.memory", "6.4e7"),
        (f"{REQ}.memory", "256Mi"),
        (f"{P1}.resources", {"limits": {"cpu": 1, "ephemeral-storage": "1G"}}),
        (f"{P1}.resources", {"requests": {"memory": "5Ei"}}),
        (f"{P1}.resources", {"requests": None, "limits": {"cpu": "1"}}),
    ],
)
def test_it_accepts(where: str, value: Any) -> None:
    assert validate_manifest(changed(example_manifest(), where, value)) == []


def test_numbers_in_resources_become_quantity_strings() -> None:
    spec = parse_deployment(
        changed(example_manifest(), f"{P1}.resources", {"limits": {"cpu": 1, "memory": 0.5}})
    )
    assert spec.entities[0].pods[1].resources == {"limits": {"cpu": "1", "memory": "0.5"}}


def test_null_means_unset_for_optional_fields_and_missing_for_required_ones() -> None:
    manifest = changed(changed(example_manifest(), "spec.historyLimit", None), f"{E0}.ioImage", None)
    spec = parse_deployment(manifest)
    assert (spec.history_limit, spec.entities[0].io_image) == (3, DEFAULT_IO_IMAGE)
    [error] = rejection(changed(example_manifest(), f"{E0}.executorImage", None))
    assert (error.path, error.code) == (f"{E0}.executorImage", "required")


def test_messages_quote_long_input_shortened() -> None:
    errors = rejection(changed(example_manifest(), f"{E0}.name", "A" * 100_000))
    assert errors[0].message == "'" + "A" * 57 + "...' is 100000 characters long; at most 52 are allowed"
    errors = rejection(changed(example_manifest(), f"{E0}.{'k' * 1000}", 1))
    assert errors[0].path == f"{E0}['{'k' * 57}...']"


def test_a_pathologically_long_image_reference_is_refused_quickly() -> None:
    manifest = changed(example_manifest(), f"{E0}.executorImage", "a" + "-a" * 500 + "!")
    [error] = rejection(manifest)
    assert error.path == f"{E0}.executorImage"
