"""The convert phase: a deployment's spec becomes plain Kubernetes manifests (dicts).

Pure functions of their inputs, so they are tested table-driven without a cluster and shared
by both backends. Per entity: one ConfigMap (``main.json`` + ``<pod>.json`` per pod) and the
pods' access to it (a ServiceAccount, a Role allowing only ``watch`` on that one ConfigMap, and
their RoleBinding), so the io sidecar hears of a move from the API within a second instead of
after the kubelet's sync of the mounted file. Per pod of the spec: one ``apps/v1`` Deployment
with a single replica, because each spec pod has its own resources and its own partition file;
the ``Recreate`` strategy keeps two copies of one pod from ever consuming the same partitions at
once.

What a partition move must not do is restart pods, so nothing that changes with the
assignment (the ConfigMap's content, the revision) is put in a pod template.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from orchestrator.planning.placement import Placement
from orchestrator.spec.model import API_VERSION, KIND, DeploymentSpec, EntitySpec, PodSpec
from podcontract import env as pod_env
from podcontract.files import MAIN_FILE, MainConfig, pod_file, pod_json

LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_ENTITY = "invoker.io/entity"
LABEL_POD = "invoker.io/pod"
ANNOTATION_REVISION = "invoker.io/revision"

CONFIG_DIR, SOCKET_DIR, METRICS_PORT = pod_env.CONFIG_DIR, pod_env.SOCKET_DIR, pod_env.METRICS_PORT
#: What an entity's pods may do with their own ConfigMap, and nothing else: a watch without a
#: resourceVersion starts with the current object, so neither ``get`` nor ``list`` is needed
#: (a watch with a ``metadata.name`` field selector is authorized against ``resourceNames``).
POD_CONFIG_MAP_VERBS = ("watch",)
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
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
    ``output_partitions`` holds each entity's output topic partition count (the topics phase's,
    ``orchestrator.reconciler.topics.output_partitions``): the io sidecar creates a missing output topic
    with it and routes over at most that many partitions. ``placement`` is the nodeSelector and
    tolerations of every executor pod (the backend's; orchestrator.planning.placement).
    """

    namespace: str
    revision: str
    state_url: str
    epochs: Mapping[str, int] = field(default_factory=dict)
    owner: OwnerRef | None = None
    output_partitions: Mapping[str, int] = field(default_factory=dict)
    placement: Placement = field(default_factory=Placement)


def config_map_name(deployment: str, entity: str) -> str:
    """``<deployment>.<entity>``: names are DNS labels (no dots), so the dot keeps the objects of
    deployment ``x`` pod ``a-b`` and deployment ``x-a`` pod ``b`` apart; a dash would not."""
    return f"{deployment}.{entity}"


def service_account_name(deployment: str, entity: str) -> str:
    """The entity's ServiceAccount, Role and RoleBinding share the ConfigMap's name."""
    return config_map_name(deployment, entity)


def workload_name(deployment: str, pod: str) -> str:
    return f"{deployment}.{pod}"


def convert(
    spec: DeploymentSpec, ctx: ConvertContext, cache: ConvertCache | None = None
) -> list[dict[str, Any]]:
    """All manifests of ``spec``: per entity its ConfigMap, then one Deployment per pod.

    With a ``cache`` (the reconcile phase keeps one per deployment), an entity whose spec and
    context did not change since the last pass returns its previous manifests unchanged, so a
    partition move reconverts only the entity it touches.

    The manifests share read-only parts (one pod template per entity and resource set, one env
    list, one owner reference, ...): building a fresh copy of each for 10,000 pods costs more
    than everything else a pass does. Treat them as read-only; copy before changing one.
    """
    manifests: list[dict[str, Any]] = []
    with _gc_paused():
        for entity in spec.entities:
            if cache is None:
                manifests.extend(entity_manifests(spec, entity, ctx))
            else:
                manifests.extend(cache.entity_manifests(spec, entity, ctx))
    return manifests


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Converting 10,000 pods allocates ~100,000 dicts, none of them in a reference cycle; with
    the cyclic collector running meanwhile, it rescans the ever larger heap again and again,
    which was most of the time of a large convert. Reference counting still frees everything,
    and collection resumes right after (it stays off if someone else had turned it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def entity_manifests(spec: DeploymentSpec, entity: EntitySpec, ctx: ConvertContext) -> list[dict[str, Any]]:
    """One entity's objects: its ConfigMap first (its pods mount it), then a workload per pod.
    A new per-entity kind goes here, and into ``backend.MANAGED_KINDS``."""
    parts = _EntityParts(spec, entity, ctx)
    return [
        entity_config_map(spec, entity, ctx),
        *entity_access(spec, entity, ctx),
        *(parts.workload(pod) for pod in entity.pods),
    ]


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


def main_config(spec: DeploymentSpec, entity: EntitySpec, ctx: ConvertContext) -> MainConfig:
    """``main.json`` (the pod contract's shape): what every pod of the entity shares. No revision
    in it, on purpose: an unrelated change elsewhere in the deployment must not rewrite this
    entity's ConfigMap."""
    return MainConfig(
        deployment=spec.name,
        entity=entity.name,
        bootstrap_servers=entity.io_address,
        input_topic=entity.input_topic,
        output_topic=entity.output_topic,
        output_partitions=ctx.output_partitions.get(entity.name),
        state_url=ctx.state_url,
    )


def pod_config_json(pod: PodSpec, epoch: int) -> str:
    """``<pod>.json`` (the pod contract's ``PodConfig``): the pod's partitions and the entity's
    assignment epoch, written without building a ``PodConfig`` per pod (``pod_json``)."""
    return pod_json(pod.name, pod.partitions, epoch)


def entity_config_map(spec: DeploymentSpec, entity: EntitySpec, ctx: ConvertContext) -> dict[str, Any]:
    epoch = ctx.epochs.get(entity.name, 1)
    data = {MAIN_FILE: main_config(spec, entity, ctx).to_json()}
    data.update({pod_file(pod.name): pod_config_json(pod, epoch) for pod in entity.pods})
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(config_map_name(spec.name, entity.name), spec, entity.name, ctx),
        "data": data,
    }


def entity_access(spec: DeploymentSpec, entity: EntitySpec, ctx: ConvertContext) -> list[dict[str, Any]]:
    """The entity's ServiceAccount, a Role allowing only a watch of the entity's own ConfigMap
    (by name), and the RoleBinding between them: least privilege for the io sidecar's watch.
    They come before the workloads: a pod naming a missing ServiceAccount is refused."""
    name = service_account_name(spec.name, entity.name)
    rule = {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": [config_map_name(spec.name, entity.name)],
        "verbs": list(POD_CONFIG_MAP_VERBS),
    }
    subject = {"kind": "ServiceAccount", "name": name, "namespace": ctx.namespace}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(name, spec, entity.name, ctx)},
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "Role",
            "metadata": _metadata(name, spec, entity.name, ctx),
            "rules": [rule],
        },
        {
            "apiVersion": RBAC_API_VERSION,
            "kind": "RoleBinding",
            "metadata": _metadata(name, spec, entity.name, ctx),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [subject],
        },
    ]


def pod_workload(
    spec: DeploymentSpec, entity: EntitySpec, pod: PodSpec, ctx: ConvertContext
) -> dict[str, Any]:
    """The ``apps/v1`` Deployment of one spec pod."""
    return _EntityParts(spec, entity, ctx).workload(pod)


class _EntityParts:
    """What every workload of one entity shares, built once per entity: the annotations, the
    owner reference, the strategy and one pod template spec per distinct resource set and UDF
    image (the only fields of a template that differ between the pods of an entity)."""

    def __init__(self, spec: DeploymentSpec, entity: EntitySpec, ctx: ConvertContext) -> None:
        self.spec, self.entity, self.ctx = spec, entity, ctx
        self.annotations = {ANNOTATION_REVISION: ctx.revision}
        self.owners = [_owner_reference(ctx.owner)] if ctx.owner is not None else None
        self.strategy = {"type": "Recreate"}
        self.labels = labels(spec.name, entity.name)
        self.templates: dict[tuple, dict[str, Any]] = {}

    def template(self, pod: PodSpec) -> dict[str, Any]:
        key = (_resources_key(pod.resources), pod.executor_image)
        template = self.templates.get(key)
        if template is None:
            template = pod_template_spec(self.spec, self.entity, pod)
            if self.ctx.placement:
                template = self.ctx.placement.on_pod(template)
            self.templates[key] = template
        return template

    def workload(self, pod: PodSpec) -> dict[str, Any]:
        pod_labels = {**self.labels, LABEL_POD: pod.name}
        metadata: dict[str, Any] = {
            "name": workload_name(self.spec.name, pod.name),
            "namespace": self.ctx.namespace,
            "labels": pod_labels,
            "annotations": self.annotations,
        }
        if self.owners is not None:
            metadata["ownerReferences"] = self.owners
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata,
            "spec": {
                "replicas": 1,
                "strategy": self.strategy,
                "selector": {"matchLabels": pod_labels},
                "template": {"metadata": {"labels": pod_labels}, "spec": self.template(pod)},
            },
        }


def _resources_key(resources: Mapping[str, Mapping[str, str]]) -> tuple:
    if not resources:
        return ()
    return tuple(sorted((section, tuple(sorted(values.items()))) for section, values in resources.items()))


def pod_template_spec(spec: DeploymentSpec, entity: EntitySpec, pod: PodSpec) -> dict[str, Any]:
    config_map = config_map_name(spec.name, entity.name)
    env, mounts = [*_env(), *_config_map_env(config_map)], _volume_mounts()
    udf_image = pod.executor_image or entity.executor_image  # a canary pod runs its own
    template: dict[str, Any] = {
        "containers": [
            _container(CONTAINER_UDF, udf_image, spec, pod.resources, env=env, mounts=mounts),
            _container(CONTAINER_IO, entity.io_image, spec, {}, ports=True, env=env, mounts=mounts),
            _container(CONTAINER_STATE, entity.state_image, spec, {}, env=env, mounts=mounts),
        ],
        "volumes": [
            {"name": "config", "configMap": {"name": config_map_name(spec.name, entity.name)}},
            {"name": "sockets", "emptyDir": {}},
        ],
        "terminationGracePeriodSeconds": 30,
        # The io sidecar watches its ConfigMap as the entity's ServiceAccount (entity_access).
        "serviceAccountName": service_account_name(spec.name, entity.name),
        "automountServiceAccountToken": True,
    }
    if spec.image_pull_secrets:
        template["imagePullSecrets"] = [{"name": name} for name in spec.image_pull_secrets]
    return template


def _container(
    name: str,
    image: str,
    spec: DeploymentSpec,
    resources: Mapping,
    ports: bool = False,
    env: list[dict[str, Any]] | None = None,
    mounts: list[dict[str, Any]] | None = None,
) -> dict:
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": spec.image_pull_policy,
        "env": _env() if env is None else env,
        "volumeMounts": _volume_mounts() if mounts is None else mounts,
    }
    if resources:
        container["resources"] = {section: dict(values) for section, values in resources.items()}
    if ports:
        container["ports"] = [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}]
    return container


def _volume_mounts() -> list[dict[str, Any]]:
    return [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "sockets", "mountPath": SOCKET_DIR},
    ]


def _env() -> list[dict[str, Any]]:
    """The pod finds its ``<pod>.json`` by its spec name, given by the downward API from a label
    (the Kubernetes pod name carries the ReplicaSet's hash, the label does not)."""
    pod_label = f"metadata.labels['{LABEL_POD}']"
    return [
        {"name": pod_env.POD_NAME, "valueFrom": {"fieldRef": {"fieldPath": pod_label}}},
        {"name": pod_env.KUBERNETES_POD_NAME, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": pod_env.CONFIG_DIR_ENV, "value": CONFIG_DIR},
        {"name": pod_env.SOCKET_DIR_ENV, "value": SOCKET_DIR},
        {"name": pod_env.METRICS_PORT_ENV, "value": str(METRICS_PORT)},
    ]


def _config_map_env(name: str) -> list[dict[str, Any]]:
    """Which ConfigMap the io sidecar watches through the API, and in which namespace."""
    return [
        {"name": pod_env.CONFIG_MAP_ENV, "value": name},
        {"name": pod_env.POD_NAMESPACE, "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]


class ConvertCache:
    """Each entity's last manifests, reused while its spec and its context are unchanged.

    The key is the entity's spec (compared by value: frozen dataclasses) with every part of the
    context that reaches its manifests, except the revision: reused manifests keep the revision
    annotation of the pass that last changed them, which is what the annotation records. One
    cache serves one deployment at a time in one process; it is not shared across threads.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[tuple, list[dict[str, Any]]]] = {}

    def entity_manifests(
        self, spec: DeploymentSpec, entity: EntitySpec, ctx: ConvertContext
    ) -> list[dict[str, Any]]:
        key = _entity_key(spec, entity, ctx)
        slot = (spec.name, entity.name)
        cached = self._entries.get(slot)
        if cached is not None and cached[0] == key:
            return cached[1]
        manifests = entity_manifests(spec, entity, ctx)
        self._entries[slot] = (key, manifests)
        return manifests

    def forget(self, deployment: str) -> None:
        """Drops a deployment's entries (it was deleted); its entities are not converted again."""
        for slot in [slot for slot in self._entries if slot[0] == deployment]:
            del self._entries[slot]


def _entity_key(spec: DeploymentSpec, entity: EntitySpec, ctx: ConvertContext) -> tuple:
    return (
        entity,
        ctx.namespace,
        ctx.state_url,
        ctx.epochs.get(entity.name, 1),
        ctx.owner,
        ctx.output_partitions.get(entity.name),
        spec.image_pull_policy,
        spec.image_pull_secrets,
        ctx.placement,
    )


def root_labels(deployment: str) -> dict[str, str]:
    """The root object is labelled like the objects it owns, so one label selector watches all."""
    return {LABEL_NAME: "invoker", LABEL_INSTANCE: deployment, LABEL_MANAGED_BY: "invoker"}


def root_object(spec: DeploymentSpec, manifest_spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """The InvokerDeployment custom resource that owns everything else and carries the status."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": spec.name, "namespace": namespace, "labels": root_labels(spec.name)},
        "spec": dict(manifest_spec),
    }
