"""What every deployment-scoped view shares: finding the deployment by name, the origin of a
change, and turning rows and specs into the API's representations."""

from typing import Any

from django.db.models import OuterRef, Subquery
from rest_framework import serializers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from orchestrator import DeploymentSpec, revision_name, to_manifest
from topology_editor import services
from topology_editor.api.permissions import RolePermission
from topology_editor.layout import with_layout
from topology_editor.models import Deployment, Interface, Revision
from topology_editor.services import Change

_timestamp = serializers.DateTimeField()


class DeploymentScopedViewSet(viewsets.GenericViewSet):
    """A viewset under ``/api/deployments/{name}/``."""

    permission_classes = [RolePermission]

    def get_deployment(self) -> Deployment:
        name = self.kwargs["name"]
        deployment = Deployment.objects.filter(name=name).first()
        if deployment is None:
            raise services.NotFoundError("deployment", name)
        return deployment

    def origin(self) -> dict[str, Any]:
        """The ``actor`` and ``interface`` keyword arguments of a service call."""
        return {"actor": self.request.user, "interface": interface_of(self.request)}


def interface_of(request: Request) -> Interface:
    """A browser session is the UI; anything else (a token) is the API."""
    return (
        Interface.UI if isinstance(request.successful_authenticator, SessionAuthentication) else Interface.API
    )


def with_desired_revision(queryset: Any) -> Any:
    newest = Revision.objects.filter(deployment=OuterRef("pk")).order_by("-number").values("name")[:1]
    return queryset.annotate(desired_revision=Subquery(newest))


def resource(deployment: Deployment, spec: DeploymentSpec) -> dict[str, Any]:
    """The deployment as its custom resource: metadata with the version, spec and status."""
    manifest = to_manifest(spec)
    manifest["metadata"] = {
        "name": deployment.name,
        "resourceVersion": str(deployment.resource_version),
        "creationTimestamp": _timestamp.to_representation(deployment.created_at),
        "annotations": {"invoker.io/revision": revision_name(spec)},
    }
    with_layout(manifest, deployment.layout)  # the editor's node positions (topology_editor/layout.py)
    manifest["status"] = status_block(deployment)
    return manifest


def status_block(deployment: Deployment) -> dict[str, Any]:
    updated = deployment.last_update_time
    return {
        "state": deployment.state,
        "currentRevision": deployment.current_revision,
        "nextRevision": deployment.next_revision,
        "lastUpdateTime": _timestamp.to_representation(updated) if updated else None,
        "components": deployment.components,
        "conditions": deployment.conditions,
        "message": deployment.status_message,
        "lastError": deployment.last_error,
    }


def change_result(change: Change) -> dict[str, Any]:
    return {
        "changed": change.changed,
        "revision": change.revision.name if change.revision else revision_name(change.spec),
        "resource_version": change.deployment.resource_version,
        "changes": change.changes,
    }


def entity_manifests(spec: DeploymentSpec) -> list[dict[str, Any]]:
    return to_manifest(spec)["spec"]["statefulEntities"]
