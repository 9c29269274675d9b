"""The convert phase: a deployment's spec becomes plain Kubernetes manifests (dicts).

Pure functions of their inputs, so they are tested table-driven without a cluster and shared
by both backends. Per entity: one ConfigMap (``main.json`` + ``<pod>.json`` per pod). Per pod
of the spec: one ``apps/v1`` Deployment with a single replica, because each spec pod has its
own resources and its own partition file; the ``Recreate`` strategy keeps two copies of one
pod from ever consuming the same partitions at once.

What a partition move must not do is restart pods, so nothing that changes with the
assignment (the ConfigMap's content, the revision) is put in a pod template.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.spec import API_VERSION, KIND, DeploymentSpec, EntitySpec, PodSpec

LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_ENTITY = "invoker.io/entity"
LABEL_POD = "invoker.io/pod"
ANNOTATION_REVISION = "invoker.io/revision"

CONFIG_DIR = "/etc/invoker"
SOCKET_DIR = "/var/run/invoker"
METRICS_PORT = 9400
#: Which sidecar image plays which role; the local backend maps the same names to commands.
CONTAINER_UDF, CONTAINER_IO, CONTAINER_STATE = "udf", "io", "state"


@dataclass(frozen=True)
class OwnerRef:
    """The root object every manifest is owned by, so deleting it removes the rest."""

    uid: str
    name: str
    api_version: str = API_VERSION
    kind: str = KIND


@dataclass(frozen=True)
class ConvertContext:
    """Everything convert needs beyond the spec, resolved by the caller (the reconcile phase).

    ``epochs`` holds each entity's assignment epoch: the reconcile phase raises it whenever an
    entity's partition assignment differs from the one observed, so pods can fence on it.
    """

    namespace: str
    revision: str
    state_url: str
    epochs: Mapping[str, int] = field(default_factory=dict)
    owner: OwnerRef | None = None
    output_partitions: Mapping[str, int] = field(default_factory=dict)


def config_map_name(deployment: str, entity: str) -> str:
    """``<deployment>.<entity>``: names are DNS labels (no dots), so the dot keeps the objects of
    deployment ``x`` pod ``a-b`` and deployment ``x-a`` pod ``b`` apart; a dash would not."""
    return f"{deployment}.{entity}"


def workload_name(deployment: str, pod: str) -> str:
    return f"{deployment}.{pod}"


def convert(spec: DeploymentSpec, ctx: ConvertContext) -> list[dict[str, Any]]:
    """All manifests of ``spec``: per entity its ConfigMap, then one Deployment per pod."""
    manifests: list[dict[str, Any]] = []
    for entity in spec.entities:
        manifests.append(entity_config_map(spec, entity, ctx))
        manifests.extend(pod_workload(spec, entity, pod, ctx) for pod in entity.pods)
    return manifests


def labels(deployment: str, entity: str, pod: str | None = None) -> dict[str, str]:
    result = {
        LABEL_NAME: "invoker",
        LABEL_INSTANCE: deployment,
        LABEL_MANAGED_BY: "invoker",
        LABEL_ENTITY: entity,
    }
    if pod is not None:
        result[LABEL_POD] = pod
    return result


def _metadata(
    name: str, spec: DeploymentSpec, entity: str, ctx: ConvertContext, pod: str | None = None
) -> dict:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": ctx.namespace,
        "labels": labels(spec.name, entity, pod),
        "annotations": {ANNOTATION_REVISION: ctx.revision},
    }
    if ctx.owner is not None:
        metadata["ownerReferences"] = [_owner_reference(ctx.owner)]
    return metadata


def _owner_reference(owner: OwnerRef) -> dict[str, Any]:
    return {
        "apiVersion": owner.api_version,
        "kind": owner.kind,
        "name": owner.name,
        "uid": owner.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def main_config(spec: DeploymentSpec, entity: EntitySpec, ctx: ConvertContext) -> dict[str, Any]:
    """``main.json``: what every pod of the entity shares. No revision in it, on purpose: an
    unrelated change elsewhere in the deployment must not rewrite this entity's ConfigMap."""
    return {
        "deployment": spec.name,
        "entity": entity.name,
        "bootstrapServers": entity.io_address,
        "inputTopic": entity.input_topic,
        "outputTopic": entity.output_topic,
        "inputPartitions": entity.input_partitions,
        "outputPartitions": ctx.output_partitions.get(entity.name),
        "stateBackend": {"kind": "redis", "url": ctx.state_url},
    }


def pod_config(pod: PodSpec, epoch: int) -> dict[str, Any]:
    """``<pod>.json``: the pod's partitions and the entity's assignment epoch."""
    return {"pod": pod.name, "partitions": sorted(pod.partitions), "epoch": epoch}


def entity_config_map(spec: DeploymentSpec, entity: EntitySpec, ctx: ConvertContext) -> dict[str, Any]:
    epoch = ctx.epochs.get(entity.name, 1)
    data = {"main.json": _json(main_config(spec, entity, ctx))}
    data.update({f"{pod.name}.json": _json(pod_config(pod, epoch)) for pod in entity.pods})
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(config_map_name(spec.name, entity.name), spec, entity.name, ctx),
        "data": data,
    }


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def pod_workload(
    spec: DeploymentSpec, entity: EntitySpec, pod: PodSpec, ctx: ConvertContext
) -> dict[str, Any]:
    selector = labels(spec.name, entity.name, pod.name)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(workload_name(spec.name, pod.name), spec, entity.name, ctx, pod.name),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": pod_template_spec(spec, entity, pod),
            },
        },
    }


def pod_template_spec(spec: DeploymentSpec, entity: EntitySpec, pod: PodSpec) -> dict[str, Any]:
    template: dict[str, Any] = {
        "containers": [
            _container(CONTAINER_UDF, entity.executor_image, spec, pod.resources),
            _container(CONTAINER_IO, entity.io_image, spec, {}, ports=True),
            _container(CONTAINER_STATE, entity.state_image, spec, {}),
        ],
        "volumes": [
            {"name": "config", "configMap": {"name": config_map_name(spec.name, entity.name)}},
            {"name": "sockets", "emptyDir": {}},
        ],
        "terminationGracePeriodSeconds": 30,
    }
    if spec.image_pull_secrets:
        template["imagePullSecrets"] = [{"name": name} for name in spec.image_pull_secrets]
    return template


def _container(name: str, image: str, spec: DeploymentSpec, resources: Mapping, ports: bool = False) -> dict:
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": spec.image_pull_policy,
        "env": _env(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "sockets", "mountPath": SOCKET_DIR},
        ],
    }
    if resources:
        container["resources"] = {section: dict(values) for section, values in resources.items()}
    if ports:
        container["ports"] = [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}]
    return container


def _env() -> list[dict[str, Any]]:
    """The pod finds its ``<pod>.json`` by its spec name, given by the downward API from a label
    (the Kubernetes pod name carries the ReplicaSet's hash, the label does not)."""
    return [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{LABEL_POD}']"}}},
        {"name": "KUBERNETES_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "INVOKER_CONFIG_DIR", "value": CONFIG_DIR},
        {"name": "INVOKER_SOCKET_DIR", "value": SOCKET_DIR},
        {"name": "INVOKER_METRICS_PORT", "value": str(METRICS_PORT)},
    ]


def root_object(spec: DeploymentSpec, manifest_spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """The InvokerDeployment custom resource that owns everything else and carries the status."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": spec.name, "namespace": namespace, "labels": {LABEL_MANAGED_BY: "invoker"}},
        "spec": dict(manifest_spec),
    }
