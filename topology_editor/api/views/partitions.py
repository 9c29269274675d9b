"""Moving a partition (``POST /api/deployments/{name}/move/``), several as one change
(``POST /api/deployments/{name}/moves/``, what the editor's Save sends after a drag) and
rebalancing an entity (``POST /api/deployments/{name}/entities/{entity}/rebalance/``)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from topology_editor import roles, services
from topology_editor.api.concurrency import expected_version, with_etag
from topology_editor.api.serializers.actions import (
    ChangeResultSerializer,
    MovePartitionSerializer,
    MovePartitionsSerializer,
    RebalanceResultSerializer,
    RebalanceSerializer,
)
from topology_editor.api.views.base import DeploymentScopedViewSet, change_result
from topology_editor.api.views.deployments import IF_MATCH


def valid(serializer: Serializer) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@extend_schema(tags=["partitions"], parameters=[IF_MATCH])
class PartitionViewSet(DeploymentScopedViewSet):
    """Changes of who owns which partition; the pods reload their assignment, none restarts."""

    action_permissions = {
        "move": (roles.CHANGE,),
        "move_many": (roles.CHANGE,),
        "rebalance": (roles.REBALANCE,),
    }

    @extend_schema(request=MovePartitionSerializer, responses=ChangeResultSerializer)
    def move(self, request: Request, name: str) -> Response:
        """Gives partition ``partition`` of entity ``entity`` to pod ``to_pod`` (editor role)."""
        body = valid(MovePartitionSerializer(data=request.data))
        version = expected_version(request, body.pop("resource_version", None), "resource_version")
        change = services.move_partition(name, **body, expected_version=version, **self.origin())
        return with_etag(Response(change_result(change)), change.deployment)

    @extend_schema(request=MovePartitionsSerializer, responses=ChangeResultSerializer)
    def move_many(self, request: Request, name: str) -> Response:
        """Applies ``moves`` in order as one change: one revision, one audit entry naming every
        partition moved, one reconcile (editor role)."""
        body = valid(MovePartitionsSerializer(data=request.data))
        version = expected_version(request, body.pop("resource_version", None), "resource_version")
        moves = [services.PartitionMove(**move) for move in body["moves"]]
        change = services.move_partitions(name, moves, expected_version=version, **self.origin())
        return with_etag(Response(change_result(change)), change.deployment)

    @extend_schema(request=RebalanceSerializer, responses=RebalanceResultSerializer)
    def rebalance(self, request: Request, name: str, entity: str) -> Response:
        """Splits the entity's partitions evenly over its pods (less ``removed``), moving as few
        as possible; with ``dry_run`` only returns the plan (operator role)."""
        body = valid(RebalanceSerializer(data=request.data))
        version = expected_version(request, body.pop("resource_version", None), "resource_version")
        result = services.rebalance_entity(name, entity, **body, expected_version=version, **self.origin())
        plan = result.plan
        answer = {
            **change_result(result.change),
            "dry_run": result.dry_run,
            "moves": [
                {"partition": m.partition, "from_pod": m.from_pod, "to_pod": m.to_pod} for m in plan.moves
            ],
            "assignment": plan.assignment,
        }
        return with_etag(Response(answer), result.change.deployment)
