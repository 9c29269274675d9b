"""The one declaration of an InvokerDeployment's shape, as Pydantic models.

Everything that needs to know the spec's fields reads them here rather than listing them again:
the validator (:mod:`orchestrator.spec.validation`: field names, which are required, bounds,
choices and defaults), the CRD's OpenAPI v3 schema (:mod:`orchestrator.spec.crd_schema`, written
to the chart), the API's OpenAPI schema (the DRF shapes built from these models) and the
editor's field list and defaults (:mod:`orchestrator.spec.editor_fields`, served to the page as JSON).

The models are a declaration, not the validator: the checks that walk an untrusted manifest
stay hand-written (:func:`orchestrator.spec.validation.validate_manifest`) because their messages,
paths and codes are the API's contract, and a 10,000-pod spec validates there without a
model object per pod. Python attribute names are the dataclasses' (``executor_image``); the
aliases are the manifest's camelCase keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.fields import FieldInfo

from orchestrator.spec import value_checks
from orchestrator.spec.image_reference import image_reference
from orchestrator.spec.status_schema import DeploymentStatus

API_VERSION = "invokeroperator.invoker.io/v1alpha1"
KIND = "InvokerDeployment"

#: The project's own sidecars, used when an entity does not name its own.
DEFAULT_IO_IMAGE = "invoker/io-sidecar:0.1"
DEFAULT_STATE_IMAGE = "invoker/state-sidecar:0.1"

DEFAULT_VERSION = "v1"
DEFAULT_IMAGE_PULL_POLICY = "IfNotPresent"
IMAGE_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
#: The design's example keeps three revisions; a deployment may ask for more.
DEFAULT_HISTORY_LIMIT = 3
MAX_HISTORY_LIMIT = 100

#: Deployment, entity and pod names are DNS-1123 labels of at most 52 characters, not 63.
#: Each becomes a label value (at most 63) and part of object names; 52 is what Kubernetes
#: effectively allows a StatefulSet name (its pods carry a ``controller-revision-hash`` label
#: ``<name>-<10 chars>``), so the converter may name a workload after any of them, and
#: ``<deployment>-<10 hex>`` revision names are valid labels too. Names joined by the
#: converter (``<deployment>-<pod>``, up to 105) fit object names (DNS subdomains, 253).
MAX_NAME_LENGTH = 52
#: A pod's settings live in ``<pod>.json`` beside the entity's ``main.json``.
RESERVED_POD_NAMES = frozenset({"main"})
#: Kafka partition ids are int32.
MAX_PARTITION_ID = 2**31 - 1
#: Far above any real topic; bounds the work of checking that every partition is owned.
MAX_INPUT_PARTITIONS = 100_000


@dataclass(frozen=True)
class Checked:
    """The check of a string field's value (:mod:`orchestrator.spec.value_checks`): the validator
    runs it on the field and records its message at the field's path."""

    check: value_checks.Check


_dns_label = value_checks.dns_label(MAX_NAME_LENGTH)


def pod_name(value: str) -> str | None:
    """A pod name: a DNS label, and not one whose settings file would be the entity's."""
    if value in RESERVED_POD_NAMES:
        return f"{value!r} is reserved: {value}.json holds the entity's shared settings"
    return _dns_label(value)


Name = Annotated[str, Checked(_dns_label)]
PodName = Annotated[str, Checked(pod_name)]
Image = Annotated[str, Checked(image_reference)]
Topic = Annotated[str, Checked(value_checks.kafka_topic)]
BootstrapServers = Annotated[str, Checked(value_checks.bootstrap_servers)]
LabelValue = Annotated[str, Checked(value_checks.label_value)]
SecretName = Annotated[str, Checked(value_checks.dns_subdomain)]

#: Kubernetes' "integer or string" (partition ids, quantities); the CRD spells it
#: ``x-kubernetes-int-or-string`` (:mod:`orchestrator.spec.crd_schema`).
INT_OR_STRING = "x-kubernetes-int-or-string"
PartitionId = Annotated[
    int | str,
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_PARTITION_ID},
                {"type": "string", "pattern": "^(0|[1-9][0-9]*)$"},
            ],
            INT_OR_STRING: True,
        }
    ),
]
Quantity = Annotated[
    int | str,
    WithJsonSchema({"oneOf": [{"type": "string"}, {"type": "integer"}], INT_OR_STRING: True}),
]


class Part(BaseModel):
    """A block of the manifest: camelCase keys, nothing else allowed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _name(description: str = "DNS label, unique in the deployment") -> Any:
    return Field(title="Name", description=description, max_length=MAX_NAME_LENGTH)


class ResourceAmounts(Part):
    """Amounts of one section of a pod's resources (Kubernetes quantities)."""

    cpu: Quantity | None = Field(None, title="CPU", description="e.g. 250m or 0.5", examples=["250m"])
    memory: Quantity | None = Field(None, title="Memory", description="e.g. 64Mi", examples=["64Mi"])
    ephemeral_storage: Quantity | None = Field(None, alias="ephemeral-storage", title="Ephemeral storage")


class Resources(Part):
    """Kubernetes requests and limits of a pod, e.g. requests: {cpu: 250m, memory: 64Mi}."""

    requests: ResourceAmounts | None = Field(None, title="Requests")
    limits: ResourceAmounts | None = Field(None, title="Limits")


class Pod(Part):
    """One parallel instance of an entity: the input partitions it owns and its resources."""

    name: PodName = _name()
    partitions: list[PartitionId] = Field(default_factory=list, title="Partitions")
    resources: Resources = Field(default_factory=Resources, title="Resources")
    executor_image: Image = Field(  # type: ignore[assignment] (absent: the entity's image)
        None,
        alias="executorImage",
        title="Executor image",
        description="this pod's own UDF image, overriding its entity's (a canary); absent: the entity's",
    )


class StatefulEntity(Part):
    """One operation of the topology: reads its input topic, writes its output topic."""

    name: Name = _name()
    executor_image: Image = Field(
        alias="executorImage",
        title="Executor image",
        description="the user's UDF image",
        examples=["invoker/executor:0.1"],
    )
    io_image: Image = Field(DEFAULT_IO_IMAGE, alias="ioImage", title="IO image")
    state_image: Image = Field(DEFAULT_STATE_IMAGE, alias="stateImage", title="State image")
    io_address: BootstrapServers = Field(
        alias="ioAddress",
        title="IO address",
        description="Kafka bootstrap servers, host:port[,host:port...]",
        examples=["127.0.0.1:9092"],
    )
    input_topic: Topic = Field(alias="inputTopic", title="Input topic")
    output_topic: Topic = Field(alias="outputTopic", title="Output topic")
    input_partitions: int | None = Field(
        None,
        alias="inputPartitions",
        title="Input partitions",
        description="the input topic's partition count; then every partition must be owned",
        ge=1,
        le=MAX_INPUT_PARTITIONS,
    )
    pods: list[Pod] = Field(title="Pods")


class ImagePullSecret(Part):
    """A Secret holding registry credentials, as in a pod spec."""

    name: SecretName = Field(title="Name", description="a Secret in the deployment's namespace")


class DeploymentSpec(Part):
    """One streaming application: a named topology with a version and a revision history."""

    version: LabelValue = Field(DEFAULT_VERSION, title="Version", description="a label value")
    image_pull_policy: Literal[IMAGE_PULL_POLICIES] = Field(  # type: ignore[valid-type]
        DEFAULT_IMAGE_PULL_POLICY, alias="imagePullPolicy", title="Image pull policy"
    )
    image_pull_secrets: list[ImagePullSecret] = Field(
        default_factory=list, alias="imagePullSecrets", title="Image pull secrets"
    )
    history_limit: int = Field(
        DEFAULT_HISTORY_LIMIT, alias="historyLimit", title="History limit", ge=1, le=MAX_HISTORY_LIMIT
    )
    stateful_entities: list[StatefulEntity] = Field(alias="statefulEntities", title="Stateful entities")


class Metadata(BaseModel):
    """The part of a resource's metadata the spec uses; the rest is accepted and ignored."""

    name: Name = _name("DNS label, unique in the namespace")


class InvokerDeployment(Part):
    """The custom resource: its spec and, written only by the orchestrator, its status."""

    api_version: Literal[API_VERSION] = Field(alias="apiVersion")  # type: ignore[valid-type]
    kind: Literal[KIND]  # type: ignore[valid-type]
    metadata: Metadata
    spec: DeploymentSpec
    status: DeploymentStatus | None = None


def keys(model: type[BaseModel]) -> tuple[str, ...]:
    """The manifest keys of ``model`` in declaration order (the order error messages list)."""
    return tuple(info.alias or name for name, info in model.model_fields.items())


def required(model: type[BaseModel]) -> tuple[str, ...]:
    """The keys that have no default, in declaration order."""
    return tuple(info.alias or name for name, info in model.model_fields.items() if info.is_required())


def field(model: type[BaseModel], key: str) -> FieldInfo:
    """The declaration of manifest key ``key`` of ``model``."""
    return next(info for name, info in model.model_fields.items() if (info.alias or name) == key)


def default(model: type[BaseModel], key: str) -> Any:
    """The value a missing ``key`` takes (a fresh one for lists)."""
    return field(model, key).get_default(call_default_factory=True)


def bounds(model: type[BaseModel], key: str) -> tuple[int, int]:
    """The inclusive ``(ge, le)`` bounds declared on an integer field."""
    found = {type(m).__name__: m for m in field(model, key).metadata}
    return found["Ge"].ge, found["Le"].le


def choices(model: type[BaseModel], key: str) -> tuple[str, ...]:
    """The values a ``Literal`` field allows, in declaration order."""
    annotation = field(model, key).annotation
    return tuple(getattr(annotation, "__args__", ()))


def checks(model: type[BaseModel]) -> tuple[tuple[str, value_checks.Check], ...]:
    """``(key, check)`` of every checked string field of ``model``, in declaration order."""
    return tuple(
        (info.alias or name, found.check)
        for name, info in model.model_fields.items()
        for found in info.metadata
        if isinstance(found, Checked)
    )
