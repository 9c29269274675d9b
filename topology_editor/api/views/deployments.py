"""``/api/deployments/`` and ``/api/deployments/{name}/``: deployments as custom resources."""

from typing import Any

from django.db.models import Count
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from topology_editor import roles, services
from topology_editor.api.concurrency import expected_version, with_etag
from topology_editor.api.parsers import JSONParser, MergePatchParser
from topology_editor.api.serializers.manifests import Manifest
from topology_editor.api.serializers.records import DeploymentSummarySerializer
from topology_editor.api.views.base import DeploymentScopedViewSet, resource, with_desired_revision
from topology_editor.models import Deployment
from topology_editor.spec_rows import spec_from_rows

IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False,
    description='The ETag you read (e.g. "3"); a stale one gets 412 and changes nothing.',
)  # fmt: skip


def metadata_version(body: Any) -> Any:
    """``metadata.resourceVersion`` of a manifest body, if it has one."""
    metadata = body.get("metadata") if isinstance(body, dict) else None
    return metadata.get("resourceVersion") if isinstance(metadata, dict) else None


def manifest_version(request: Request) -> int | None:
    return expected_version(request, metadata_version(request.data), "metadata.resourceVersion")


@extend_schema(tags=["deployments"])
class DeploymentViewSet(DeploymentScopedViewSet):
    """Create, read, replace, patch (JSON merge patch) and delete whole deployments."""

    serializer_class = DeploymentSummarySerializer
    parser_classes = [JSONParser, MergePatchParser]
    action_permissions = {"create": (roles.ADD,), "destroy": (roles.DELETE,)}

    def get_queryset(self) -> Any:
        counted = Deployment.objects.annotate(
            entity_count=Count("entities", distinct=True), pod_count=Count("pods", distinct=True)
        )
        return with_desired_revision(counted).order_by("name")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=Manifest, responses={201: Manifest})
    def create(self, request: Request) -> Response:
        change = services.create_deployment(request.data, **self.origin())
        response = Response(resource(change.deployment, change.spec), status=201)
        response["Location"] = request.build_absolute_uri(f"{change.deployment.name}/")
        return with_etag(response, change.deployment)

    @extend_schema(responses=Manifest)
    def retrieve(self, request: Request, name: str) -> Response:
        deployment = self.get_deployment()
        return with_etag(Response(resource(deployment, spec_from_rows(deployment))), deployment)

    @extend_schema(request=Manifest, responses=Manifest, parameters=[IF_MATCH])
    def update(self, request: Request, name: str) -> Response:
        version = manifest_version(request)
        change = services.update_deployment(name, request.data, expected_version=version, **self.origin())
        return with_etag(Response(resource(change.deployment, change.spec)), change.deployment)

    @extend_schema(request=Manifest, responses=Manifest, parameters=[IF_MATCH])
    def partial_update(self, request: Request, name: str) -> Response:
        version = manifest_version(request)
        change = services.patch_deployment(name, request.data, expected_version=version, **self.origin())
        return with_etag(Response(resource(change.deployment, change.spec)), change.deployment)

    @extend_schema(parameters=[IF_MATCH], responses={204: None})
    def destroy(self, request: Request, name: str) -> Response:
        services.delete_deployment(name, expected_version=expected_version(request), **self.origin())
        return Response(status=204)
