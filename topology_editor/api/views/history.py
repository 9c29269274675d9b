"""A deployment's status and reconcile runs, its revisions (diff, rollback) and audit trail."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orchestrator import diff_specs
from topology_editor import roles, services
from topology_editor.api.concurrency import expected_version, with_etag
from topology_editor.api.errors import invalid_request
from topology_editor.api.serializers.actions import (
    ChangeResultSerializer,
    DiffSerializer,
    RollbackSerializer,
)
from topology_editor.api.serializers.records import (
    AuditEntrySerializer,
    RevisionDetailSerializer,
    RevisionSerializer,
    StatusSerializer,
)
from topology_editor.api.views.base import DeploymentScopedViewSet, change_result, with_desired_revision
from topology_editor.api.views.deployments import IF_MATCH
from topology_editor.api.views.partitions import valid
from topology_editor.models import Deployment, Revision
from topology_editor.spec_rows import canonical_manifest

RECENT_RUNS = 10


@extend_schema(tags=["status"])
class StatusViewSet(DeploymentScopedViewSet):
    @extend_schema(responses=StatusSerializer)
    def status(self, request: Request, name: str) -> Response:
        """What the orchestrator reports, with the latest reconcile runs."""
        deployment = with_desired_revision(Deployment.objects.filter(name=name)).first()
        if deployment is None:
            raise services.NotFoundError("deployment", name)
        deployment.reconcile_runs_recent = list(deployment.reconcile_runs.all()[:RECENT_RUNS])
        data = StatusSerializer(deployment).data
        return with_etag(Response(data), deployment)

    @extend_schema(responses=AuditEntrySerializer(many=True))
    def audit(self, request: Request, name: str) -> Response:
        """Every change of the deployment, newest first: who, when, how, and what changed."""
        deployment = self.get_deployment()
        page = self.paginate_queryset(deployment.audit_entries.all())
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)


@extend_schema(tags=["revisions"])
class RevisionViewSet(DeploymentScopedViewSet):
    """Revisions, newest first: snapshots of the spec named by its hash."""

    serializer_class = RevisionSerializer
    action_permissions = {"rollback": (roles.ROLLBACK,)}

    def get_serializer_context(self) -> dict[str, Any]:
        deployment = getattr(self, "deployment", None)
        if deployment is None:  # the schema generator asks too
            return super().get_serializer_context()
        newest = deployment.revisions.order_by("-number").values_list("name", flat=True).first()
        return {**super().get_serializer_context(), "desired": newest, "running": deployment.current_revision}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.deployment = self.get_deployment()

    def list(self, request: Request, name: str) -> Response:
        revisions = self.deployment.revisions.select_related("created_by").order_by("-number")
        page = self.paginate_queryset(revisions)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses=RevisionDetailSerializer)
    def retrieve(self, request: Request, name: str, revision: str) -> Response:
        stored = self._revision(revision)
        context = {**self.get_serializer_context(), "manifest": canonical_manifest(stored.manifest)}
        return Response(RevisionDetailSerializer(stored, context=context).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, required=True, description="the revision to compare from"),
            OpenApiParameter("to", str, description="the revision to compare to (default: the saved spec's)"),
        ],
        responses=DiffSerializer,
    )
    def diff(self, request: Request, name: str) -> Response:
        """The structural differences between two revisions' specs."""
        old = self._revision(self._query("from"))
        to = request.query_params.get("to") or self.get_serializer_context()["desired"] or ""
        new = self._revision(to)
        changes = diff_specs(canonical_manifest(old.manifest), canonical_manifest(new.manifest))
        return Response({"from": old.name, "to": new.name, "changes": changes})

    @extend_schema(request=RollbackSerializer, responses=ChangeResultSerializer, parameters=[IF_MATCH])
    def rollback(self, request: Request, name: str, revision: str) -> Response:
        """Makes the revision's spec the saved spec again, and reconciles (operator role)."""
        body = valid(RollbackSerializer(data=request.data))
        version = expected_version(request, body.get("resource_version"), "resource_version")
        change = services.roll_back(name, revision, expected_version=version, **self.origin())
        return with_etag(Response(change_result(change)), change.deployment)

    def _query(self, key: str) -> str:
        value = self.request.query_params.get(key)
        if not value:
            raise invalid_request(key, f"name a revision: ?{key}=<revision>", "required")
        return value

    def _revision(self, name: str) -> Revision:
        stored = self.deployment.revisions.select_related("created_by").filter(name=name).first()
        if stored is None:
            raise services.NotFoundError("revision", name, within=f"deployment {self.deployment.name!r}")
        return stored
