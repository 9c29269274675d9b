"""A canary of a new UDF image on chosen pods of an entity (issue 16, item 5):
``GET/POST /api/deployments/{name}/entities/{entity}/canary/`` reads or starts it,
``.../canary/promote/`` promotes it one pod at a time, ``.../canary/abort/`` returns its pods to
the current image. Reading is for every role; acting is the operator's."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from orchestrator.planning.canary import Canary
from topology_editor import roles
from topology_editor.api.concurrency import expected_version, with_etag
from topology_editor.api.serializers.actions import ChangeResultSerializer
from topology_editor.api.views.base import DeploymentScopedViewSet, change_result
from topology_editor.api.views.deployments import IF_MATCH
from topology_editor.api.views.partitions import valid
from topology_editor.services import canary as service


class CanarySerializer(serializers.Serializer):
    running = serializers.BooleanField(help_text="whether a canary runs on the entity")
    image = serializers.CharField(allow_null=True, help_text="the image on trial")
    current_image = serializers.CharField(allow_null=True, help_text="the entity's image")
    canary_pods = serializers.ListField(child=serializers.CharField(), help_text="pods on the image on trial")
    stable_pods = serializers.ListField(child=serializers.CharField(), help_text="pods on the entity's image")


class StartCanarySerializer(serializers.Serializer):
    pods = serializers.ListField(child=serializers.CharField(), help_text="the pods to run the new image on")
    image = serializers.CharField(help_text="the UDF image on trial")
    resource_version = serializers.IntegerField(required=False, min_value=1)


class CanaryActionSerializer(serializers.Serializer):
    resource_version = serializers.IntegerField(required=False, min_value=1)


class CanaryResultSerializer(ChangeResultSerializer):
    canary = CanarySerializer()
    promoted = serializers.CharField(
        allow_null=True, help_text="the pod a promotion step moved to the new image (null: the last step)"
    )


def canary_answer(canary: Canary | None) -> dict[str, Any]:
    if canary is None:
        return {"running": False, "image": None, "current_image": None, "canary_pods": [], "stable_pods": []}
    return {
        "running": True,
        "image": canary.image,
        "current_image": canary.current_image,
        "canary_pods": list(canary.canary_pods),
        "stable_pods": list(canary.stable_pods),
    }


@extend_schema(tags=["canary"], parameters=[IF_MATCH])
class CanaryViewSet(DeploymentScopedViewSet):
    action_permissions = {
        "retrieve": (roles.VIEW,),
        "start": (roles.REBALANCE,),
        "promote": (roles.REBALANCE,),
        "abort": (roles.REBALANCE,),
    }

    @extend_schema(responses=CanarySerializer)
    def retrieve(self, request: Request, name: str, entity: str) -> Response:
        """The canary running on the entity: its image, its pods and the pods on the current image."""
        return Response(canary_answer(service.canary_status(name, entity)))

    @extend_schema(request=StartCanarySerializer, responses=CanaryResultSerializer)
    def start(self, request: Request, name: str, entity: str) -> Response:
        """Runs ``image`` on ``pods`` of the entity (one revision, trigger ``canary``); the other
        pods keep the current image. Partitions do not move."""
        body = valid(StartCanarySerializer(data=request.data))
        version = expected_version(request, body.pop("resource_version", None), "resource_version")
        step = service.start_canary(
            name, entity, body["pods"], body["image"], expected_version=version, **self.origin()
        )
        return self.answer(step)

    @extend_schema(request=CanaryActionSerializer, responses=CanaryResultSerializer)
    def promote(self, request: Request, name: str, entity: str) -> Response:
        """Moves the next pod to the image on trial (one revision, trigger ``canary promote``); the
        next steps follow, each once the pod before it runs the image ready, until the image is
        the entity's."""
        step = service.promote_canary(name, entity, expected_version=self.version(request), **self.origin())
        return self.answer(step)

    @extend_schema(request=CanaryActionSerializer, responses=CanaryResultSerializer)
    def abort(self, request: Request, name: str, entity: str) -> Response:
        """Every pod of the entity back on the current image (one revision, trigger ``canary abort``)."""
        step = service.abort_canary(name, entity, expected_version=self.version(request), **self.origin())
        return self.answer(step)

    def version(self, request: Request) -> int | None:
        body = valid(CanaryActionSerializer(data=request.data))
        return expected_version(request, body.get("resource_version"), "resource_version")

    def answer(self, step: service.CanaryChange) -> Response:
        body = {**change_result(step.change), "canary": canary_answer(step.canary), "promoted": step.promoted}
        return with_etag(Response(body), step.change.deployment)
