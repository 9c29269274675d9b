"""Marking a revision bad (``POST /api/deployments/{name}/revisions/{revision}/bad/``, operator
role): from then on a rollback to it, or any change whose result is its spec, is a 409."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from topology_editor import roles
from topology_editor.api.serializers.records import RevisionSerializer
from topology_editor.api.views.base import DeploymentScopedViewSet
from topology_editor.api.views.partitions import valid
from topology_editor.services.bad_revisions import MAX_REASON, mark_revision_bad
from topology_editor.services.saving import desired_revision


class MarkBadSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_REASON, help_text="why it must not run again")


@extend_schema(tags=["revisions"])
class BadRevisionViewSet(DeploymentScopedViewSet):
    action_permissions = {"mark_bad": (roles.ROLLBACK,)}

    @extend_schema(request=MarkBadSerializer, responses=RevisionSerializer)
    def mark_bad(self, request: Request, name: str, revision: str) -> Response:
        """Marks the revision bad for ``reason``: rollback refuses to go to it and no change may
        make its spec desired again; recorded in the audit (operator role)."""
        body = valid(MarkBadSerializer(data=request.data))
        stored, _ = mark_revision_bad(name, revision, body["reason"], **self.origin())
        desired = desired_revision(stored.deployment)
        context = {
            "desired": desired.name if desired else None,
            "running": stored.deployment.current_revision,
        }
        return Response(RevisionSerializer(stored, context=context).data)
