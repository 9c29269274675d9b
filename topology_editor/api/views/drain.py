"""Draining a pod (``POST /api/deployments/{name}/entities/{entity}/pods/{pod}/drain/``,
operator role): its partitions go to the other pods as one revision, and with ``then:
remove`` (the default) the pod is removed by a second revision once they have taken over; with
``then: cordon`` it stays, owning nothing."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from orchestrator.planning.drain import THEN, THEN_REMOVE
from topology_editor import roles
from topology_editor.api.concurrency import expected_version, with_etag
from topology_editor.api.serializers.actions import ChangeResultSerializer, PlannedMoveSerializer
from topology_editor.api.views.base import DeploymentScopedViewSet, change_result
from topology_editor.api.views.deployments import IF_MATCH
from topology_editor.api.views.partitions import valid
from topology_editor.services.drain import Drain, drain_pod


class DrainSerializer(serializers.Serializer):
    then = serializers.ChoiceField(
        choices=list(THEN),
        default=THEN_REMOVE,
        help_text="remove the pod once its partitions are taken over, or cordon it (it stays, owning none)",
    )
    resource_version = serializers.IntegerField(required=False, min_value=1)


class DrainResultSerializer(ChangeResultSerializer):
    pod = serializers.CharField()
    then = serializers.CharField()
    moves = PlannedMoveSerializer(many=True)
    assignment = serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()))


@extend_schema(tags=["partitions"], parameters=[IF_MATCH])
class DrainViewSet(DeploymentScopedViewSet):
    action_permissions = {"drain": (roles.REBALANCE,)}

    @extend_schema(request=DrainSerializer, responses=DrainResultSerializer)
    def drain(self, request: Request, name: str, entity: str, pod: str) -> Response:
        """Hands the pod's partitions to the entity's other pods (the least loaded first), then
        removes or cordons it. The last pod of an entity that owns partitions cannot be drained."""
        body = valid(DrainSerializer(data=request.data))
        version = expected_version(request, body.pop("resource_version", None), "resource_version")
        result = drain_pod(name, entity, pod, then=body["then"], expected_version=version, **self.origin())
        return with_etag(Response(drain_answer(result)), result.change.deployment)


def drain_answer(result: Drain) -> dict[str, Any]:
    """The answer about a drain (:class:`DrainResultSerializer`'s shape), also the DELETE of a pod's."""
    plan = result.plan
    moves = [{"partition": m.partition, "from_pod": m.from_pod, "to_pod": m.to_pod} for m in plan.moves]
    return {
        **change_result(result.change),
        "pod": plan.pod,
        "then": result.then,
        "moves": PlannedMoveSerializer(moves, many=True).data,
        "assignment": plan.assignment,
    }
