"""``/api/deployments/{name}/entities/`` and ``.../entities/{entity}/pods/``: one part of a
spec at a time. Every write stores the whole resulting spec, so errors name full spec paths."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orchestrator import DeploymentSpec
from topology_editor import services
from topology_editor.api.concurrency import expected_version, with_etag
from topology_editor.api.parsers import JSONParser, MergePatchParser
from topology_editor.api.serializers.manifests import Entity, Pod
from topology_editor.api.views.base import DeploymentScopedViewSet, entity_manifests
from topology_editor.api.views.deployments import IF_MATCH
from topology_editor.api.views.drain import DrainResultSerializer, drain_answer
from topology_editor.models import Deployment
from topology_editor.services import Change
from topology_editor.services.drain import remove_pod
from topology_editor.spec_rows import spec_from_rows


def _named(items: list[dict[str, Any]], name: str, kind: str, within: str) -> dict[str, Any]:
    found = next((item for item in items if item["name"] == name), None)
    if found is None:
        raise services.NotFoundError(kind, name, within=within)
    return found


def _body_name(body: Any, default: str) -> str:
    name = body.get("name") if isinstance(body, dict) else None
    return name if isinstance(name, str) else default


class PartViewSet(DeploymentScopedViewSet):
    """Shared by entities and pods: the list, one item, and writes answered with the item."""

    parser_classes = [JSONParser, MergePatchParser]

    def items(self, spec: DeploymentSpec) -> list[dict[str, Any]]:
        raise NotImplementedError

    def item(self, spec: DeploymentSpec, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def spec(self) -> tuple[Deployment, DeploymentSpec]:
        deployment = self.get_deployment()
        return deployment, spec_from_rows(deployment)

    def list(self, request: Request, **kwargs: str) -> Response:
        deployment, spec = self.spec()
        page = self.paginate_queryset(self.items(spec))
        return with_etag(self.get_paginated_response(page), deployment)

    def answer(self, change: Change, name: str, status: int = 200) -> Response:
        return with_etag(Response(self.item(change.spec, name), status=status), change.deployment)

    def write_kwargs(self) -> dict[str, Any]:
        return {"expected_version": expected_version(self.request), **self.origin()}


@extend_schema(tags=["entities"])
class EntityViewSet(PartViewSet):
    """The stateful entities of a deployment, each with its pods."""

    def items(self, spec: DeploymentSpec) -> list[dict[str, Any]]:
        return entity_manifests(spec)

    def item(self, spec: DeploymentSpec, name: str) -> dict[str, Any]:
        return _named(entity_manifests(spec), name, "entity", f"deployment {spec.name!r}")

    @extend_schema(responses=Entity(many=True))
    def list(self, request: Request, **kwargs: str) -> Response:
        return super().list(request, **kwargs)

    @extend_schema(request=Entity, responses={201: Entity}, parameters=[IF_MATCH])
    def create(self, request: Request, name: str) -> Response:
        change = services.add_entity(name, request.data, **self.write_kwargs())
        return self.answer(change, _body_name(request.data, ""), status=201)

    @extend_schema(responses=Entity)
    def retrieve(self, request: Request, name: str, entity: str) -> Response:
        deployment, spec = self.spec()
        return with_etag(Response(self.item(spec, entity)), deployment)

    @extend_schema(request=Entity, responses=Entity, parameters=[IF_MATCH])
    def update(self, request: Request, name: str, entity: str) -> Response:
        change = services.update_entity(name, entity, request.data, **self.write_kwargs())
        return self.answer(change, _body_name(request.data, entity))

    @extend_schema(request=Entity, responses=Entity, parameters=[IF_MATCH])
    def partial_update(self, request: Request, name: str, entity: str) -> Response:
        change = services.update_entity(name, entity, request.data, merge=True, **self.write_kwargs())
        return self.answer(change, _body_name(request.data, entity))

    @extend_schema(responses={204: None}, parameters=[IF_MATCH])
    def destroy(self, request: Request, name: str, entity: str) -> Response:
        services.remove_entity(name, entity, **self.write_kwargs())
        return Response(status=204)


@extend_schema(tags=["pods"])
class PodViewSet(PartViewSet):
    """The pods of one entity: each owns some input partitions and has its resources."""

    def items(self, spec: DeploymentSpec) -> list[dict[str, Any]]:
        entity = self.kwargs["entity"]
        return _named(entity_manifests(spec), entity, "entity", f"deployment {spec.name!r}")["pods"]

    def item(self, spec: DeploymentSpec, name: str) -> dict[str, Any]:
        return _named(self.items(spec), name, "pod", f"entity {self.kwargs['entity']!r}")

    @extend_schema(responses=Pod(many=True))
    def list(self, request: Request, **kwargs: str) -> Response:
        return super().list(request, **kwargs)

    @extend_schema(request=Pod, responses={201: Pod}, parameters=[IF_MATCH])
    def create(self, request: Request, name: str, entity: str) -> Response:
        change = services.add_pod(name, entity, request.data, **self.write_kwargs())
        return self.answer(change, _body_name(request.data, ""), status=201)

    @extend_schema(responses=Pod)
    def retrieve(self, request: Request, name: str, entity: str, pod: str) -> Response:
        deployment, spec = self.spec()
        return with_etag(Response(self.item(spec, pod)), deployment)

    @extend_schema(request=Pod, responses=Pod, parameters=[IF_MATCH])
    def update(self, request: Request, name: str, entity: str, pod: str) -> Response:
        change = services.update_pod(name, entity, pod, request.data, **self.write_kwargs())
        return self.answer(change, _body_name(request.data, pod))

    @extend_schema(request=Pod, responses=Pod, parameters=[IF_MATCH])
    def partial_update(self, request: Request, name: str, entity: str, pod: str) -> Response:
        change = services.update_pod(name, entity, pod, request.data, merge=True, **self.write_kwargs())
        return self.answer(change, _body_name(request.data, pod))

    @extend_schema(responses={202: DrainResultSerializer, 204: None}, parameters=[IF_MATCH])
    def destroy(self, request: Request, name: str, entity: str, pod: str) -> Response:
        """Removes the pod without dropping a partition. One that owns partitions is drained first
        (202, the drain's plan): they go to the entity's other pods in one revision, and the pod
        goes by a second once they have taken over. One that owns none goes at once (204). The
        last pod of an entity that owns partitions is refused (409), and nothing changes."""
        removal = remove_pod(name, entity, pod, **self.write_kwargs())
        if removal.drain is None:
            return Response(status=204)
        return with_etag(Response(drain_answer(removal.drain), status=202), removal.change.deployment)
