"""A deployment's automation (``/api/deployments/{name}/automation/``): GET its state, paused or
not, why and since when (viewer role); POST ``{enabled}`` to turn it on, which also resumes it
from a pause, or off (operator role)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from topology_editor import roles
from topology_editor.api.views.base import DeploymentScopedViewSet
from topology_editor.api.views.partitions import valid
from topology_editor.services.automation import Automation, automation_of
from topology_editor.services.automation_switch import set_automation


class AutomationSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="automation may act on this deployment")
    paused = serializers.BooleanField(read_only=True, help_text="a rollback or manual change paused it")
    paused_since = serializers.DateTimeField(read_only=True, allow_null=True)
    paused_reason = serializers.CharField(read_only=True, help_text="which change paused it, by whom")


def _shown(automation: Automation) -> dict[str, Any]:
    return AutomationSerializer(
        {
            "enabled": automation.enabled,
            "paused": automation.paused,
            "paused_since": automation.paused_since,
            "paused_reason": automation.paused_reason,
        }
    ).data


@extend_schema(tags=["automation"])
class AutomationViewSet(DeploymentScopedViewSet):
    action_permissions = {"retrieve": (roles.VIEW,), "update_state": (roles.ROLLBACK,)}

    @extend_schema(responses=AutomationSerializer)
    def retrieve(self, request: Request, name: str) -> Response:
        """Whether automation is on, and if paused, why and since when (viewer role)."""
        return Response(_shown(automation_of(self.get_deployment())))

    @extend_schema(request=AutomationSerializer, responses=AutomationSerializer)
    def update_state(self, request: Request, name: str) -> Response:
        """Turns automation on (resuming it from a pause) or off; audited (operator role)."""
        body = valid(AutomationSerializer(data=request.data))
        return Response(_shown(set_automation(name, body["enabled"], **self.origin())))
