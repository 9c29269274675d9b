"""YAML import (``POST /api/deployments/import/``) and export (``GET .../{name}/export/``)."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from orchestrator import load_manifest_yaml, to_manifest
from orchestrator.spec.manifest_yaml import MAX_MANIFEST_BYTES
from topology_editor import roles, services
from topology_editor.api.concurrency import expected_version, with_etag
from topology_editor.api.errors import ApiError, invalid_request
from topology_editor.api.parsers import YAML_PARSERS, JSONParser, YAMLRenderer
from topology_editor.api.serializers.actions import ImportResultSerializer
from topology_editor.api.views.base import DeploymentScopedViewSet, change_result
from topology_editor.api.views.deployments import IF_MATCH, metadata_version
from topology_editor.layout import with_layout
from topology_editor.spec_rows import spec_from_rows

#: Room for the multipart envelope around an upload of the largest manifest.
MULTIPART_OVERHEAD = 64 * 1024


@extend_schema(tags=["manifests"])
class ManifestViewSet(DeploymentScopedViewSet):
    """Deployments as custom-resource YAML, in the prototype's shape."""

    parser_classes = [*YAML_PARSERS, JSONParser, MultiPartParser]
    action_permissions = {"import_manifest": (roles.ADD, roles.CHANGE)}

    @extend_schema(
        request={"application/yaml": OpenApiTypes.STR, "multipart/form-data": OpenApiTypes.OBJECT},
        responses={200: ImportResultSerializer, 201: ImportResultSerializer},
        parameters=[IF_MATCH],
    )
    def import_manifest(self, request: Request) -> Response:
        """Creates the deployment the manifest names, or replaces its spec (201 or 200). The
        body is the YAML (``Content-Type: application/yaml``) or a multipart ``file``."""
        manifest = self._manifest(request)
        version = expected_version(request, metadata_version(manifest), "metadata.resourceVersion")
        change = services.import_manifest(manifest, expected_version=version, **self.origin())
        answer = {"name": change.deployment.name, "created": change.created, **change_result(change)}
        return with_etag(Response(answer, status=201 if change.created else 200), change.deployment)

    def _manifest(self, request: Request) -> Any:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > MAX_MANIFEST_BYTES + MULTIPART_OVERHEAD:
            message = f"the upload is {length} bytes; a manifest may have at most {MAX_MANIFEST_BYTES}"
            raise ApiError(413, "too_large", message)
        if request.content_type.startswith("multipart/"):
            upload = request.FILES.get("file")
            if upload is None:
                raise invalid_request("file", "upload the manifest as the multipart field 'file'", "required")
            return load_manifest_yaml(upload.read(MAX_MANIFEST_BYTES + 1))
        return request.data

    @extend_schema(responses={(200, "application/yaml"): OpenApiTypes.STR})
    def export(self, request: Request, name: str) -> Response:
        """The saved spec as a manifest that imports back unchanged (YAML, or JSON on request)."""
        deployment = self.get_deployment()
        # With the editor's node positions: they survive an export and an import.
        manifest = with_layout(to_manifest(spec_from_rows(deployment)), deployment.layout)
        return with_etag(Response(manifest), deployment)

    def get_renderers(self) -> list[Any]:
        if getattr(self, "action", None) == "export":
            return [YAMLRenderer(), JSONRenderer()]
        return super().get_renderers()
