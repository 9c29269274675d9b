"""Between the relational rows of a deployment and its :class:`orchestrator.DeploymentSpec`.

Reading always goes through :func:`orchestrator.parse_deployment`: rows become the manifest
they stand for, which is validated like any other, so a spec read from the database is as
trustworthy as one just imported, and the admin's unsaved rows are checked by the same
function. Writing replaces the entity and pod rows wholesale: they are addressed by name, never
by id, so new ids cost nothing, and their order is the spec's order.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from orchestrator import (
    DeploymentSpec,
    EntitySpec,
    SpecError,
    parse_deployment,
    to_manifest,
)
from orchestrator.spec.model import custom_resource, entity_fields
from topology_editor.models import Deployment, Pod, StatefulEntity

EntityRows = Sequence[tuple[StatefulEntity, Sequence[Pod]]]


def manifest_from_rows(deployment: Deployment, entities: EntityRows) -> dict[str, Any]:
    """The custom-resource manifest that ``deployment`` and its ``(entity, pods)`` rows
    describe; the rows may be unsaved and unvalidated."""
    return custom_resource(
        deployment.name,
        {
            "version": deployment.spec_version,
            "imagePullPolicy": deployment.image_pull_policy,
            "imagePullSecrets": _secrets(deployment.image_pull_secrets),
            "historyLimit": deployment.history_limit,
            "statefulEntities": [_entity(entity, pods) for entity, pods in entities],
        },
    )


def _secrets(value: object) -> object:
    """Rows keep the names; a value that is not a list of names is left for the validator."""
    if not isinstance(value, list):
        return value
    return [{"name": item} if isinstance(item, str) else item for item in value]


def _entity(entity: StatefulEntity, pods: Iterable[Pod]) -> dict[str, Any]:
    rows = [_pod(p) for p in pods]
    return {**entity_fields(entity), "pods": rows}


def _pod(pod: Pod) -> dict[str, Any]:
    row = {"name": pod.name, "partitions": pod.partitions, "resources": pod.resources}
    return {**row, "executorImage": pod.executor_image} if pod.executor_image else row


def stored_rows(deployment: Deployment) -> list[tuple[StatefulEntity, list[Pod]]]:
    """The saved entities of ``deployment`` with their pods, in spec order (two queries)."""
    entities = list(deployment.entities.order_by("position"))
    pods: dict[int, list[Pod]] = {entity.pk: [] for entity in entities}
    for pod in Pod.objects.filter(deployment=deployment).order_by("position"):
        pods[pod.entity_id].append(pod)
    return [(entity, pods[entity.pk]) for entity in entities]


def stored_manifest(deployment: Deployment) -> dict[str, Any]:
    """The manifest of the saved rows of ``deployment``."""
    return manifest_from_rows(deployment, stored_rows(deployment))


def spec_from_rows(deployment: Deployment) -> DeploymentSpec:
    """The validated spec of the saved rows of ``deployment``."""
    return parse_deployment(stored_manifest(deployment))


def canonical_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """A stored manifest (a revision's) in canonical form and key order, which PostgreSQL's
    jsonb does not keep; one saved under older rules that no longer pass is shown as stored."""
    try:
        return to_manifest(parse_deployment(manifest))
    except SpecError:
        return manifest


def write_spec_rows(deployment: Deployment, spec: DeploymentSpec) -> None:
    """Makes the rows of ``deployment`` (saved or not) say exactly ``spec``."""
    deployment.name = spec.name
    deployment.spec_version = spec.version
    deployment.image_pull_policy = spec.image_pull_policy
    deployment.image_pull_secrets = list(spec.image_pull_secrets)
    deployment.history_limit = spec.history_limit
    deployment.save()
    deployment.entities.all().delete()
    entities = StatefulEntity.objects.bulk_create(
        _entity_row(deployment, position, entity) for position, entity in enumerate(spec.entities)
    )
    Pod.objects.bulk_create(
        Pod(deployment=deployment, entity=row, position=position, name=pod.name,
            partitions=list(pod.partitions), resources=pod.resources, executor_image=pod.executor_image or "")
        for row, entity in zip(entities, spec.entities, strict=True)
        for position, pod in enumerate(entity.pods)
    )  # fmt: skip


def _entity_row(deployment: Deployment, position: int, entity: EntitySpec) -> StatefulEntity:
    return StatefulEntity(
        deployment=deployment,
        position=position,
        name=entity.name,
        executor_image=entity.executor_image,
        io_image=entity.io_image,
        state_image=entity.state_image,
        io_address=entity.io_address,
        input_topic=entity.input_topic,
        output_topic=entity.output_topic,
        input_partitions=entity.input_partitions,
    )
