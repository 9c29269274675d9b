"""Read-only records: the orchestrator's reconcile runs and the audit trail."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from topology_editor.models import AuditEntry, ReconcileRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyAdmin):
    list_display = [
        "deployment",
        "started_at",
        "result",
        "duration_ms",
        "api_calls",
        "api_writes",
        "revision",
    ]
    list_filter = ["result", "deployment"]
    list_select_related = ["deployment"]
    date_hierarchy = "started_at"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "deployment_name", "actor_name", "interface", "action", "summary"]
    list_filter = ["interface", "action"]
    search_fields = ["deployment_name", "actor_name", "summary"]
    date_hierarchy = "created_at"
