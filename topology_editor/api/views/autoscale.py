"""An entity's autoscaling (``/api/deployments/{name}/entities/{entity}/autoscale/``): GET its
policy and the latest recommendation with its evidence (viewer role); PUT the policy (operator
role); POST ``.../autoscale/apply/`` to approve a recommendation in one click (operator role:
the new pods and the fewest partition moves as one revision, or a drain of one pod)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from orchestrator import FieldError
from topology_editor import roles
from topology_editor.api.concurrency import expected_version, with_etag
from topology_editor.api.serializers.actions import ChangeResultSerializer
from topology_editor.api.views.base import DeploymentScopedViewSet, change_result
from topology_editor.api.views.partitions import valid
from topology_editor.models import AutoscalePolicy
from topology_editor.services.autoscale import apply_recommendation, get_policy, set_policy
from topology_editor.services.errors import InvalidRequestError


class AutoscalePolicySerializer(serializers.Serializer):
    auto = serializers.BooleanField(
        required=False, help_text="apply recommendations without asking, while automation runs"
    )
    min_pods = serializers.IntegerField(required=False, min_value=1, max_value=10_000)
    max_pods = serializers.IntegerField(required=False, min_value=1, max_value=10_000)
    target_records_per_pod = serializers.FloatField(required=False, help_text="records/s one pod should take")
    scale_out_after_seconds = serializers.FloatField(required=False, help_text="lag must grow this long")
    utilisation_floor = serializers.FloatField(required=False, help_text="scale in below this share")
    scale_in_after_seconds = serializers.FloatField(required=False)
    cooldown_seconds = serializers.FloatField(required=False)
    max_step = serializers.IntegerField(required=False, min_value=1, max_value=100)


class AutoscaleSerializer(AutoscalePolicySerializer):
    entity = serializers.CharField(read_only=True)
    stored = serializers.BooleanField(read_only=True, help_text="false: defaults, no policy stored yet")
    last_scaled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    recommendation = serializers.DictField(
        read_only=True,
        help_text="current, pods, rule, reason, rate, lag_growth, at, samples ([time, lag, records] each)",
    )


class ApplySerializer(serializers.Serializer):
    pods = serializers.IntegerField(required=False, min_value=1, help_text="default: the recommendation")
    resource_version = serializers.IntegerField(
        required=False, help_text="the version the recommendation was seen at (or If-Match); 412 if changed"
    )


def _shown(row: AutoscalePolicy) -> dict[str, Any]:
    fields = {name: getattr(row, name) for name in AutoscalePolicySerializer().fields}
    extra = {
        "entity": row.entity,
        "stored": row.pk is not None,
        "last_scaled_at": row.last_scaled_at,
        "recommendation": row.recommendation,
    }
    return AutoscaleSerializer({**fields, **extra}).data


@extend_schema(tags=["automation"])
class AutoscaleViewSet(DeploymentScopedViewSet):
    action_permissions = {
        "retrieve": (roles.VIEW,),
        "update_policy": (roles.ROLLBACK,),
        "approve": (roles.REBALANCE,),
    }

    @extend_schema(responses=AutoscaleSerializer)
    def retrieve(self, request: Request, name: str, entity: str) -> Response:
        """The entity's policy and its latest recommendation with the evidence (viewer role)."""
        return Response(_shown(get_policy(name, entity)))

    @extend_schema(request=AutoscalePolicySerializer, responses=AutoscaleSerializer)
    def update_policy(self, request: Request, name: str, entity: str) -> Response:
        """Stores the policy's given fields; settings that contradict each other are refused
        naming each field, and nothing is stored (operator role)."""
        body = valid(AutoscalePolicySerializer(data=request.data))
        return Response(_shown(set_policy(name, entity, body, **self.origin())))

    @extend_schema(request=ApplySerializer, responses=ChangeResultSerializer)
    def approve(self, request: Request, name: str, entity: str) -> Response:
        """Brings the entity to the recommended (or given) pod count as one revision, trigger
        ``autoscale`` (operator role)."""
        body = valid(ApplySerializer(data=request.data))
        version = expected_version(request, body.pop("resource_version", None), "resource_version")
        pods = body.get("pods") or get_policy(name, entity).recommendation.get("pods")
        if pods is None:
            message = (
                "no recommendation yet: name the pod count, or wait for the autoscaler's next evaluation"
            )
            raise InvalidRequestError([FieldError("pods", message, "required")])
        change = apply_recommendation(
            name, entity, pods, action="autoscale", expected_version=version, **self.origin()
        )
        return with_etag(Response(change_result(change)), change.deployment)
