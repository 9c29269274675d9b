"""Scaling an entity to N pods (``POST /api/deployments/{name}/entities/{entity}/scale/``,
operator role): the new pods and the fewest partition moves as one revision (trigger
``scale``), or with ``dry_run`` (in the body or as ``?dry_run=1``) only the plan. Scaling in
drains the removed pods: their partitions move in this revision and the pods go once the new
owners consume them (``draining``)."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from topology_editor import roles
from topology_editor.api.concurrency import expected_version, with_etag
from topology_editor.api.serializers.actions import PlannedMoveSerializer, RebalanceResultSerializer
from topology_editor.api.views.base import DeploymentScopedViewSet, change_result
from topology_editor.api.views.deployments import IF_MATCH
from topology_editor.api.views.partitions import valid
from topology_editor.services.scale import Scale, scale_entity

DRY_RUN = OpenApiParameter(
    "dry_run", OpenApiTypes.BOOL, OpenApiParameter.QUERY, description="return the plan only, as the body's"
)


class ScaleSerializer(serializers.Serializer):
    pods = serializers.IntegerField(
        min_value=1, help_text="the pod count wanted, 1 to the entity's partitions"
    )
    dry_run = serializers.BooleanField(default=False, help_text="return the plan without applying it")
    resource_version = serializers.IntegerField(required=False, min_value=1)


class ScaleResultSerializer(RebalanceResultSerializer):
    pods_before = serializers.IntegerField()
    pods_after = serializers.IntegerField()
    added = serializers.ListField(child=serializers.CharField(), help_text="the new pods")
    removed = serializers.ListField(child=serializers.CharField(), help_text="the pods taken out")
    draining = serializers.ListField(
        child=serializers.CharField(),
        help_text="removed pods kept, owning nothing, until their partitions are taken over",
    )


@extend_schema(tags=["partitions"], parameters=[IF_MATCH, DRY_RUN])
class ScaleViewSet(DeploymentScopedViewSet):
    action_permissions = {"scale": (roles.REBALANCE,)}

    @extend_schema(request=ScaleSerializer, responses=ScaleResultSerializer)
    def scale(self, request: Request, name: str, entity: str) -> Response:
        """Brings the entity to ``pods`` pods: adds or removes pods and moves the fewest
        partitions, the removed pods' first, as one revision (operator role)."""
        data = request.data
        if "dry_run" in request.query_params and isinstance(data, dict):
            data = {**data, "dry_run": request.query_params["dry_run"] or "true"}
        body = valid(ScaleSerializer(data=data))
        version = expected_version(request, body.pop("resource_version", None), "resource_version")
        result = scale_entity(name, entity, **body, expected_version=version, **self.origin())
        return with_etag(
            Response({**change_result(result.change), **_plan(result)}), result.change.deployment
        )


def _plan(result: Scale) -> dict[str, Any]:
    plan = result.plan
    moves = [{"partition": m.partition, "from_pod": m.from_pod, "to_pod": m.to_pod} for m in plan.moves]
    return {
        "dry_run": result.dry_run,
        "pods_before": plan.pods_before,
        "pods_after": plan.pods_after,
        "added": plan.added,
        "removed": plan.removed,
        "draining": plan.draining,
        "moves": PlannedMoveSerializer(moves, many=True).data,
        "assignment": plan.assignment,
    }
