"""``GET /api/spec-schema/``: the editor's field list and defaults, from the spec's one
declaration (:mod:`orchestrator.spec.schema`), so that the page reads them instead of
keeping a copy (any signed-in user: it describes the format, no deployment)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.spec.editor_fields import editor_fields


class SpecSchemaView(APIView):
    @extend_schema(tags=["spec"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """The spec's fields per level (deployment, entity, pod), with labels, types, defaults,
        bounds and choices; the resource sections and names; a new entity's settings."""
        return Response(editor_fields())
