"""The one validation entry point: a manifest dict in, a :class:`DeploymentSpec` or a
:class:`SpecError` listing every problem out.

The REST API, the admin, the YAML importer and the orchestrator all call
:func:`parse_deployment`, so a spec one of them accepts is accepted by all. Validation runs in
two steps: checks that walk the untrusted document and record problems with their paths
(never stopping at the first), then, only if there were none, a plain conversion into
dataclasses that can trust its input.

Decisions the design left open:

- Field values of ``null`` mean "not set", as in the Kubernetes API.
- ``metadata`` accepts the standard ObjectMeta fields of an exported custom resource
  (namespace, labels, uid, managedFields...) and ignores all but ``name``: the dashboard owns
  the namespace. ``status`` is accepted and ignored: only the orchestrator writes it.
- Partitions are ints or strings of decimal digits without leading zeros (``"01"`` is refused
  so that two spellings never hide one partition owned twice).
- ``pods`` is required but may be empty (an entity scaled to zero reads nothing), and a pod
  may own no partitions (a standby pod, or one just added before a rebalance). With a known
  ``inputPartitions`` every partition must be owned, so zero pods is then an error.
- ``statefulEntities`` is required but may be empty: a deployment saved before it has a
  topology runs nothing.
- ``version`` (default ``v1``) must be a valid label value so that it can label workloads.
- The pod name ``main`` is reserved: ``main.json`` holds an entity's shared settings.
- Size :class:`~orchestrator.spec.model.Limits` are checked only when given (every change the control
  plane makes); a list over its limit is reported at its path, and only the items within the
  limit are checked further, so an oversized list costs no more than an allowed one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from orchestrator.spec import schema as declared
from orchestrator.spec import value_checks
from orchestrator.spec.consistency import check_consistency
from orchestrator.spec.fields import (
    Problem,
    Report,
    at,
    describe,
    items,
    join,
    partition_value,
    plain_partition_ids,
    present,
)
from orchestrator.spec.model import (
    API_VERSION,
    KIND,
    DeploymentSpec,
    EntitySpec,
    FieldError,
    Limits,
    PodSpec,
    SpecError,
)
from orchestrator.spec.resources import build_resources, check_resources

TOP_FIELDS = ("apiVersion", "kind", "metadata", "spec", "status")
OBJECT_META_FIELDS = (
    *("name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation"),
    *("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers"),
    *("ownerReferences", "managedFields", "generateName", "selfLink"),
)
# The spec's fields, bounds, choices and defaults are declared once (orchestrator.spec.schema);
# read here once, at import, so that a check costs what it did when they were written out.
SPEC_FIELDS = declared.keys(declared.DeploymentSpec)
SPEC_REQUIRED = declared.required(declared.DeploymentSpec)
ENTITY_FIELDS = declared.keys(declared.StatefulEntity)
ENTITY_REQUIRED = declared.required(declared.StatefulEntity)
POD_FIELDS = declared.keys(declared.Pod)
POD_REQUIRED = declared.required(declared.Pod)
SECRET_FIELDS = declared.keys(declared.ImagePullSecret)
HISTORY_LIMITS = declared.bounds(declared.DeploymentSpec, "historyLimit")
INPUT_PARTITIONS = declared.bounds(declared.StatefulEntity, "inputPartitions")
IMAGE_PULL_POLICIES = declared.choices(declared.DeploymentSpec, "imagePullPolicy")
DEFAULT_VERSION = declared.default(declared.DeploymentSpec, "version")
DEFAULT_IMAGE_PULL_POLICY = declared.default(declared.DeploymentSpec, "imagePullPolicy")
DEFAULT_HISTORY_LIMIT = declared.default(declared.DeploymentSpec, "historyLimit")
DEFAULT_IO_IMAGE = declared.default(declared.StatefulEntity, "ioImage")
DEFAULT_STATE_IMAGE = declared.default(declared.StatefulEntity, "stateImage")
#: Each checked string field's check, as declared: ``(key, check)`` in declaration order.
METADATA_CHECKS = declared.checks(declared.Metadata)
SPEC_CHECKS = declared.checks(declared.DeploymentSpec)
ENTITY_CHECKS = declared.checks(declared.StatefulEntity)
POD_CHECKS = declared.checks(declared.Pod)
((_, SECRET_NAME),) = declared.checks(declared.ImagePullSecret)


def parse_deployment(manifest: object, limits: Limits | None = None) -> DeploymentSpec:
    """The spec of a custom-resource manifest (a dict as loaded from YAML or JSON), within
    ``limits`` when given.

    Raises :class:`SpecError` naming every problem with its field path.
    """
    errors = validate_manifest(manifest, limits)
    if errors:
        raise SpecError(errors)
    return _build_deployment(cast(Mapping[str, Any], manifest))


def validate_manifest(manifest: object, limits: Limits | None = None) -> list[FieldError]:
    """Every problem of ``manifest`` in document order, up to
    :data:`~orchestrator.spec.fields.MAX_REPORTED_ERRORS` of them (then a last entry counts the
    rest); empty when :func:`parse_deployment` would accept it."""
    report = Report()
    root = report.mapping(manifest, "", TOP_FIELDS, ("apiVersion", "kind", "metadata", "spec"))
    if root is not None:
        _check_constant(root, "apiVersion", API_VERSION, report)
        _check_constant(root, "kind", KIND, report)
        if present(root, "metadata"):
            _check_metadata(root["metadata"], report)
        if present(root, "spec"):
            _check_spec(root["spec"], "spec", report, limits)
    return sorted(report.errors, key=lambda error: _document_order(error.path)) + report.omitted_entry()


def _document_order(path: str) -> list[str | int]:
    """Sorts ``pods[2]`` before ``pods[10]``; each field's errors stay in the order found."""
    return [int(part) if i % 2 else part for i, part in enumerate(re.split(r"\[(\d+)\]", path))]


def _check_strings(
    mapping: Mapping[str, Any], path: str, checks: tuple[tuple[str, value_checks.Check], ...], report: Report
) -> None:
    for key, check in checks:
        report.string(mapping, key, path, check)


def _check_constant(root: Mapping[str, Any], key: str, expected: str, report: Report) -> None:
    if present(root, key) and root[key] != expected:
        report.add(key, f"must be {expected}, got {describe(root[key])}", "invalid_value")


def _check_metadata(value: object, report: Report) -> None:
    metadata = report.mapping(value, "metadata", OBJECT_META_FIELDS, ("name",))
    if metadata is not None:
        _check_strings(metadata, "metadata", METADATA_CHECKS, report)


def _check_spec(value: object, path: str, report: Report, limits: Limits | None) -> None:
    spec = report.mapping(value, path, SPEC_FIELDS, SPEC_REQUIRED)
    if spec is None:
        return
    _check_strings(spec, path, SPEC_CHECKS, report)
    report.string(spec, "imagePullPolicy", path, value_checks.one_of(IMAGE_PULL_POLICIES))
    report.integer(spec, "historyLimit", path, *HISTORY_LIMITS)
    secrets = report.list(spec, "imagePullSecrets", path) or []
    _check_pull_secrets(secrets, join(path, "imagePullSecrets"), report)
    entities = report.list(spec, "statefulEntities", path) or []
    within = _within_limits(entities, join(path, "statefulEntities"), limits, report)
    for i, entity in enumerate(within):
        _check_entity(entity, at(join(path, "statefulEntities"), i), report)
    if within is entities:  # cross-field checks of a trimmed list would report what is not missing
        check_consistency(spec, path, report)


def _within_limits(entities: list[Any], path: str, limits: Limits | None, report: Report) -> list[Any]:
    """``entities`` if they are within ``limits``; otherwise what is, for the other checks,
    each list over its limit reported at its path."""
    if limits is None:
        return entities
    total = sum(len(entity["pods"]) for _, entity in items(entities) if isinstance(entity.get("pods"), list))
    if total > limits.max_pods:
        message = f"the entities have {total} pods in all; the limit is {limits.max_pods} pods per deployment"
        report.add(path, message, "too_many")
    found = report.found
    _limit(entities, "entities", limits.max_entities, "per deployment", path, report)
    within = [
        _entity_within_limits(entity, at(path, i), limits, report)
        for i, entity in enumerate(entities[: limits.max_entities])
    ]
    return entities if report.found == found else within


def _entity_within_limits(entity: Any, path: str, limits: Limits, report: Report) -> Any:
    pods = entity.get("pods") if isinstance(entity, Mapping) else None
    if not isinstance(pods, list):
        return entity
    _limit(pods, "pods", limits.max_pods_per_entity, "per entity", join(path, "pods"), report)
    within = pods[: limits.max_pods_per_entity]
    return {
        **entity,
        "pods": [
            _pod_within_limits(pod, at(join(path, "pods"), j), limits, report) for j, pod in enumerate(within)
        ],
    }


def _pod_within_limits(pod: Any, path: str, limits: Limits, report: Report) -> Any:
    partitions = pod.get("partitions") if isinstance(pod, Mapping) else None
    if not isinstance(partitions, list):
        return pod
    limit = limits.max_partitions_per_pod
    _limit(partitions, "partitions", limit, "per pod", join(path, "partitions"), report)
    return {**pod, "partitions": partitions[:limit]}


def _limit(values: list[Any], noun: str, limit: int, scope: str, path: str, report: Report) -> None:
    if len(values) > limit:
        report.add(path, f"has {len(values)} {noun}; the limit is {limit} {noun} {scope}", "too_many")


def _check_pull_secrets(secrets: list[Any], path: str, report: Report) -> None:
    """A list of ``{name: <Secret name>}``, as in a pod spec; a name listed twice is a mistake."""
    seen: set[str] = set()
    for i, value in enumerate(secrets):
        secret = report.mapping(value, at(path, i), SECRET_FIELDS, SECRET_FIELDS)
        name = report.string(secret, "name", at(path, i), SECRET_NAME) if secret else None
        if name in seen:
            report.add(join(at(path, i), "name"), f"secret {name!r} is listed twice", "duplicate")
        if name is not None:
            seen.add(name)


def _check_entity(value: object, path: str, report: Report) -> None:
    entity = report.mapping(value, path, ENTITY_FIELDS, ENTITY_REQUIRED)
    if entity is None:
        return
    _check_strings(entity, path, ENTITY_CHECKS, report)
    count = report.integer(entity, "inputPartitions", path, *INPUT_PARTITIONS)
    for j, pod in enumerate(report.list(entity, "pods", path) or []):
        _check_pod(pod, at(join(path, "pods"), j), count, report)


def _check_pod(value: object, path: str, count: int | None, report: Report) -> None:
    pod = report.mapping(value, path, POD_FIELDS, POD_REQUIRED)
    if pod is None:
        return
    _check_strings(pod, path, POD_CHECKS, report)
    partitions = report.list(pod, "partitions", path) or []
    all_valid = plain_partition_ids(partitions) and (count is None or max(partitions) < count)
    if not all_valid:  # else nothing to report, and a walk of 100,000 items is spared
        partitions_path = join(path, "partitions")
        for k, partition in enumerate(partitions):
            _check_partition(partition, partitions_path, k, count, report)
    if present(pod, "resources"):
        check_resources(pod["resources"], join(path, "resources"), report)


def _check_partition(value: object, partitions_path: str, k: int, count: int | None, report: Report) -> None:
    """Item ``k`` of a pod's partitions; its path is built only for a problem (a pod may list
    100,000, and building each path cost more than checking it)."""
    partition = partition_value(value)
    if isinstance(partition, Problem):
        report.add(at(partitions_path, k), partition.message, partition.code)
    elif count is not None and partition >= count:
        message = (
            f"partition {partition} is out of range: inputPartitions is {count} (partitions 0-{count - 1})"
        )
        report.add(at(partitions_path, k), message, "out_of_range")


def _get(mapping: Mapping[str, Any], key: str, default: Any) -> Any:
    value = mapping.get(key)
    return default if value is None else value


def _build_deployment(manifest: Mapping[str, Any]) -> DeploymentSpec:
    spec = manifest["spec"]
    return DeploymentSpec(
        name=manifest["metadata"]["name"],
        entities=tuple(_build_entity(entity) for entity in spec["statefulEntities"]),
        version=_get(spec, "version", DEFAULT_VERSION),
        image_pull_policy=_get(spec, "imagePullPolicy", DEFAULT_IMAGE_PULL_POLICY),
        image_pull_secrets=tuple(secret["name"] for secret in _get(spec, "imagePullSecrets", [])),
        history_limit=_get(spec, "historyLimit", DEFAULT_HISTORY_LIMIT),
    )


def _build_entity(entity: Mapping[str, Any]) -> EntitySpec:
    return EntitySpec(
        name=entity["name"],
        executor_image=entity["executorImage"],
        io_image=_get(entity, "ioImage", DEFAULT_IO_IMAGE),
        state_image=_get(entity, "stateImage", DEFAULT_STATE_IMAGE),
        io_address=entity["ioAddress"],
        input_topic=entity["inputTopic"],
        output_topic=entity["outputTopic"],
        input_partitions=entity.get("inputPartitions"),
        pods=tuple(_build_pod(pod) for pod in entity["pods"]),
    )


def _build_pod(pod: Mapping[str, Any]) -> PodSpec:
    return PodSpec(
        name=pod["name"],
        partitions=tuple(sorted(int(p) for p in _get(pod, "partitions", []))),
        resources=build_resources(pod.get("resources")),
        executor_image=pod.get("executorImage"),
    )
