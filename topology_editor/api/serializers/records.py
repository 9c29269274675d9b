"""Deployments as list rows, their status and reconcile runs, revisions and audit entries."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from topology_editor.models import AuditEntry, Deployment, ReconcileRun, Revision


class DeploymentSummarySerializer(serializers.ModelSerializer):
    """A deployment in the list; the whole manifest is at its ``url``."""

    desired_revision = serializers.CharField(allow_null=True, help_text="the revision of the saved spec")
    entity_count = serializers.IntegerField()
    pod_count = serializers.IntegerField()
    url = serializers.HyperlinkedIdentityField(view_name="api:deployment-detail", lookup_field="name")

    class Meta:
        model = Deployment
        fields = [
            *("name", "url", "resource_version", "state", "desired_revision", "current_revision"),
            *("next_revision", "entity_count", "pod_count", "created_at", "updated_at"),
        ]
        read_only_fields = fields


class ReconcileRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReconcileRun
        fields = [
            *("revision", "trigger", "started_at", "finished_at", "duration_ms"),
            *("result", "api_calls", "api_writes", "error"),
        ]
        read_only_fields = fields


class StatusSerializer(serializers.ModelSerializer):
    """What the orchestrator reports, with the latest reconcile runs (newest first)."""

    desired_revision = serializers.CharField(allow_null=True)
    reconcile_runs = ReconcileRunSerializer(many=True, source="reconcile_runs_recent")

    class Meta:
        model = Deployment
        fields = [
            *("name", "resource_version", "state", "desired_revision", "current_revision", "next_revision"),
            *(
                "last_update_time",
                "components",
                "conditions",
                "status_message",
                "last_error",
                "reconcile_runs",
            ),
        ]
        read_only_fields = fields


class RevisionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    desired = serializers.SerializerMethodField(help_text="it is the saved spec's revision")
    running = serializers.SerializerMethodField(help_text="the orchestrator reports it as current")
    bad_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Revision
        fields = [
            "name",
            "number",
            "created_at",
            "created_by",
            "desired",
            "running",
            "bad_since",
            "bad_reason",
            "bad_by",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_desired(self, revision: Revision) -> bool:
        return revision.name == self.context.get("desired")

    @extend_schema_field(serializers.BooleanField())
    def get_running(self, revision: Revision) -> bool:
        return revision.name == self.context.get("running")


class RevisionDetailSerializer(RevisionSerializer):
    manifest = serializers.SerializerMethodField(help_text="the revision's spec as a manifest")

    class Meta(RevisionSerializer.Meta):
        fields = [*RevisionSerializer.Meta.fields, "manifest"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField())
    def get_manifest(self, revision: Revision) -> dict[str, Any]:
        return self.context["manifest"]


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name")

    class Meta:
        model = AuditEntry
        fields = ["created_at", "actor", "interface", "action", "summary", "revision", "changes"]
        read_only_fields = fields
