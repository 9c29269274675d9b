"""The desired state of one InvokerDeployment, as typed, immutable values.

The shape (keys, defaults, bounds) and the constants are declared once in
:mod:`orchestrator.spec.schema`; these dataclasses are the values a valid manifest becomes.

Every entry point (REST API, admin, YAML importer, orchestrator) turns a manifest into these
dataclasses through :func:`orchestrator.spec.validation.parse_deployment` and back through
:func:`to_manifest`, so there is exactly one notion of a valid spec and one canonical form.

The ``status:`` block of a custom resource is *not* part of the spec: only the orchestrator
writes it, so the importer accepts and ignores it, and :func:`to_manifest` never emits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.spec import schema as spec_schema
from orchestrator.spec.schema import (  # noqa: F401 (the constants are imported from here too)
    API_VERSION,
    DEFAULT_HISTORY_LIMIT,
    DEFAULT_IMAGE_PULL_POLICY,
    DEFAULT_IO_IMAGE,
    DEFAULT_STATE_IMAGE,
    DEFAULT_VERSION,
    IMAGE_PULL_POLICIES,
    KIND,
    MAX_HISTORY_LIMIT,
    MAX_INPUT_PARTITIONS,
    MAX_NAME_LENGTH,
    MAX_PARTITION_ID,
    RESERVED_POD_NAMES,
)

#: The sections and names of a pod's resources, in the declaration's order.
RESOURCE_SECTIONS = spec_schema.keys(spec_schema.Resources)
RESOURCE_NAMES = spec_schema.keys(spec_schema.ResourceAmounts)

Resources = dict[str, dict[str, str]]


@dataclass(frozen=True)
class Limits:
    """How large one deployment may be; :func:`orchestrator.spec.validation.parse_deployment` checks
    them when it is given them, and names the limit a spec passes.

    The control plane passes its configured limits (``INVOKER_MAX_ENTITIES``,
    ``INVOKER_MAX_PODS_PER_ENTITY``, ``INVOKER_MAX_PODS``, ``INVOKER_MAX_PARTITIONS_PER_POD``;
    see the README) on every change, and none when it reads what it stored, so that lowering a
    limit never makes a saved deployment unreadable. The defaults leave room above the largest
    topology the dashboard is tested with (100 entities of 20 pods); every pod is three
    processes (about 90 MB on the local backend), and the local backend also refuses a
    topology that cannot fit the machine's memory.
    """

    max_entities: int = 200
    max_pods_per_entity: int = 200
    max_pods: int = 2000
    #: As many as a topic may have: one pod may own every partition.
    max_partitions_per_pod: int = MAX_INPUT_PARTITIONS


@dataclass(frozen=True)
class PodSpec:
    """One parallel instance of an entity: the input partitions it owns and its resources.

    ``partitions`` is sorted. ``resources`` has the Kubernetes shape
    ``{"requests": {"cpu": "250m"}, "limits": {...}}`` holding only non-empty sections, with
    quantities kept as written (``"0.5"`` stays ``"0.5"``) so that an export shows the user's
    own notation; revision hashing compares them by value.
    """

    name: str
    partitions: tuple[int, ...] = ()
    resources: Resources = field(default_factory=dict)
    #: This pod's own UDF image (a canary), or None: the entity's. Written only when set, so a
    #: spec without one keeps its manifest and revision name.
    executor_image: str | None = None


@dataclass(frozen=True)
class EntitySpec:
    """One operation of the topology: reads ``input_topic``, writes ``output_topic``.

    ``input_partitions`` is the partition count of the input topic when the user (or a
    Kafka lookup) supplied it; then every partition below it must be owned by exactly one
    pod. ``None`` means unknown, and only ownership conflicts can be checked.
    """

    name: str
    executor_image: str
    io_address: str
    input_topic: str
    output_topic: str
    pods: tuple[PodSpec, ...] = ()
    io_image: str = DEFAULT_IO_IMAGE
    state_image: str = DEFAULT_STATE_IMAGE
    input_partitions: int | None = None


@dataclass(frozen=True)
class DeploymentSpec:
    """One streaming application: a named topology with a version and a revision history."""

    name: str
    entities: tuple[EntitySpec, ...] = ()
    version: str = DEFAULT_VERSION
    image_pull_policy: str = DEFAULT_IMAGE_PULL_POLICY
    image_pull_secrets: tuple[str, ...] = ()
    history_limit: int = DEFAULT_HISTORY_LIMIT

    def entity(self, name: str) -> EntitySpec | None:
        """The entity called ``name``, if any (names are unique within a deployment)."""
        return next((entity for entity in self.entities if entity.name == name), None)


@dataclass(frozen=True)
class FieldError:
    """One reason a manifest is rejected.

    ``path`` names the field like ``spec.statefulEntities[1].pods[0].partitions[2]`` (empty
    for the document as a whole); ``code`` is stable and machine-readable (``required``,
    ``unknown_field``, ``invalid_type``, ``invalid_value``, ``duplicate``,
    ``out_of_range``, ``unassigned``, ``exceeds_limit``, ``conflict``, ``not_found``,
    ``yaml_syntax``, ``too_large``, ``too_deep``, ``too_many`` (a :class:`Limits` passed),
    ``too_many_errors`` (a last entry counting the problems not listed)); ``message`` is for
    people.
    """

    path: str
    message: str
    code: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(ValueError):
    """A manifest was rejected; ``errors`` lists every problem found, not just the first."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))

    @classmethod
    def single(cls, path: str, message: str, code: str) -> SpecError:
        """An error with one reason, for callers that find one problem at a time."""
        return cls([FieldError(path, message, code)])

    def as_dicts(self) -> list[dict[str, str]]:
        """The errors as JSON-ready ``{"path", "message", "code"}`` objects."""
        return [{"path": e.path, "message": e.message, "code": e.code} for e in self.errors]


def to_manifest(spec: DeploymentSpec) -> dict[str, Any]:
    """The canonical custom-resource dict of ``spec``: every default spelled out, camelCase
    keys in a fixed order, partitions as sorted integers, no ``status``.

    ``parse_deployment(to_manifest(spec)) == spec`` holds for every valid spec.
    """
    return custom_resource(
        spec.name,
        {
            "version": spec.version,
            "imagePullPolicy": spec.image_pull_policy,
            "imagePullSecrets": [{"name": name} for name in spec.image_pull_secrets],
            "historyLimit": spec.history_limit,
            "statefulEntities": [_entity_manifest(entity) for entity in spec.entities],
        },
    )


def custom_resource(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The InvokerDeployment document around a spec body, for specs and for unvalidated rows."""
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec}


#: An entity's scalar fields, manifest key → attribute, as declared. The attribute names are shared
#: by :class:`EntitySpec` and the dashboard's entity rows, so both are written out by one function.
ENTITY_FIELDS = tuple(
    (info.alias or attribute, attribute)
    for attribute, info in spec_schema.StatefulEntity.model_fields.items()
    if attribute not in ("input_partitions", "pods")
)


def entity_fields(entity: object) -> dict[str, Any]:
    """The manifest keys of an entity (a spec or a row) other than its pods, in canonical order."""
    manifest = {key: getattr(entity, attribute) for key, attribute in ENTITY_FIELDS}
    partitions = getattr(entity, "input_partitions", None)
    if partitions is not None:
        manifest["inputPartitions"] = partitions
    return manifest


def _entity_manifest(entity: EntitySpec) -> dict[str, Any]:
    return {**entity_fields(entity), "pods": [_pod_manifest(pod) for pod in entity.pods]}


def _pod_manifest(pod: PodSpec) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "name": pod.name,
        "partitions": sorted(pod.partitions),
        "resources": {
            section: dict(pod.resources[section]) for section in RESOURCE_SECTIONS if section in pod.resources
        },
    }
    if pod.executor_image is not None:
        manifest["executorImage"] = pod.executor_image
    return manifest
