"""Revisions: their spec, a diff against the saved spec, and "Roll back to this revision"."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from orchestrator import SpecError, diff_specs, dump_manifest_yaml
from topology_editor import roles, services
from topology_editor.models import Interface, Revision
from topology_editor.spec_rows import canonical_manifest, stored_manifest


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ["name", "deployment", "number", "created_at", "created_by"]
    list_filter = ["deployment"]
    list_select_related = ["deployment", "created_by"]
    search_fields = ["name", "deployment__name"]
    fields = ["deployment", "name", "number", "created_at", "created_by", "diff_against_saved_spec", "spec"]
    readonly_fields = fields
    actions = ["roll_back"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # revisions are recorded by saving a spec

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # immutable

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # pruned beyond historyLimit

    def has_rollback_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(roles.ROLLBACK)

    @admin.display(description="spec")
    def spec(self, revision: Revision) -> str:
        return format_html("<pre>{}</pre>", dump_manifest_yaml(canonical_manifest(revision.manifest)))

    @admin.display(description="diff against the saved spec")
    def diff_against_saved_spec(self, revision: Revision) -> str:
        changes = diff_specs(canonical_manifest(revision.manifest), stored_manifest(revision.deployment))
        if not changes:
            return "This revision is the saved spec."
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((c["path"], c["change"], _short(c["old"]), _short(c["new"])) for c in changes),
        )
        return format_html(
            "<table><tr><th>path</th><th>change</th><th>this revision</th><th>saved spec</th></tr>{}</table>",
            rows,
        )

    @admin.action(description="Roll back to this revision", permissions=["rollback"])
    def roll_back(self, request: HttpRequest, queryset: QuerySet[Revision]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one revision to roll back to.", messages.ERROR)
            return
        revision = queryset.select_related("deployment").get()
        try:
            change = services.roll_back(
                revision.deployment.name, revision.name, actor=request.user, interface=Interface.ADMIN
            )
        except (SpecError, services.ServiceError) as error:
            self.message_user(request, f"Not rolled back: {error}", messages.ERROR)
            return
        self.message_user(request, _rollback_message(revision, change), messages.SUCCESS)


def _rollback_message(revision: Revision, change: services.Change) -> str:
    if not change.changed:
        return f"{revision.name} already is the saved spec of {revision.deployment.name}; nothing changed."
    return (
        f"Rolled {revision.deployment.name} back to {revision.name}, now revision #{change.revision.number}."
    )


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 200 else text[:197] + "..."
