"""Deployments with their entities and pods inline. Saving builds the whole spec from the
form and the inlines, validates it before anything is written (see :mod:`.draft`), and stores
it through the services, with a revision, an audit entry (interface ``admin``) and a
reconcile request."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from orchestrator import SpecError
from topology_editor import services
from topology_editor.admin.draft import EntityFormSet, PodFormSet, SpecDraft
from topology_editor.models import Deployment, Interface, Pod, StatefulEntity

ONE_LINE = {models.TextField: {"widget": forms.TextInput(attrs={"size": 30})}}
STATUS_FIELDS = (
    *("state", "current_revision", "next_revision", "last_update_time"),
    *("components", "conditions", "status_message", "last_error"),
)


class DeploymentForm(forms.ModelForm):
    based_on_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Deployment
        fields = ["name", "spec_version", "image_pull_policy", "image_pull_secrets", "history_limit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["based_on_version"].initial = self.instance.resource_version


class EntityInline(admin.TabularInline):
    model = StatefulEntity
    formset = EntityFormSet
    extra = 0
    formfield_overrides = ONE_LINE
    fields = [
        *("position", "name", "executor_image", "io_image", "state_image"),
        *("io_address", "input_topic", "output_topic", "input_partitions"),
    ]


class PodInline(admin.TabularInline):
    model = Pod
    formset = PodFormSet
    extra = 0
    fields = ["entity", "position", "name", "partitions", "resources"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "entity":
            object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            kwargs["queryset"] = StatefulEntity.objects.filter(deployment_id=object_id or None)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    form = DeploymentForm
    inlines = [EntityInline, PodInline]
    list_display = ["name", "state", "resource_version", "current_revision", "updated_at"]
    list_filter = ["state"]
    search_fields = ["name"]
    fieldsets = [
        (
            None,
            {"fields": ["name", "spec_version", "image_pull_policy", "image_pull_secrets", "history_limit"]},
        ),
        (None, {"fields": ["based_on_version"], "classes": ["hidden"]}),
        ("Status (reported by the orchestrator)", {"fields": ["resource_version", *STATUS_FIELDS]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Deployment | None = None) -> list[str]:
        fixed = ["resource_version", *STATUS_FIELDS]
        return ["name", *fixed] if obj is not None else fixed

    def get_formset_kwargs(self, request: HttpRequest, obj: Any, inline: Any, prefix: str) -> dict[str, Any]:
        return {**super().get_formset_kwargs(request, obj, inline, prefix), "draft": SpecDraft.of(request)}

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().changeform_view(request, *args, **kwargs)
        except (SpecError, services.ServiceError) as error:  # changed meanwhile: nothing was saved
            self.message_user(request, f"Not saved: {error}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: Deployment, form: Any, change: bool) -> None:
        """Nothing yet: the spec is saved whole in :meth:`save_related`, once the inlines are known."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        deployment = form.instance
        manifest = SpecDraft.of(request).manifest(deployment)
        origin = {"actor": request.user, "interface": Interface.ADMIN}
        if change:
            version = form.cleaned_data.get("based_on_version")
            result = services.update_deployment(deployment.name, manifest, expected_version=version, **origin)
        else:
            result = services.create_deployment(manifest, **origin)
        deployment.pk = result.deployment.pk  # the admin logs and redirects with this object
        deployment.refresh_from_db()
        request.invoker_change = result  # type: ignore[attr-defined]

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> str:
        result = getattr(request, "invoker_change", None)
        if result is None or not result.changed:
            return "No change."
        return f"Saved revision {result.revision.name} (#{result.revision.number})."

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """Entities, pods, revisions and runs go with their deployment: deleting it needs the
        permission to delete deployments only (revisions themselves are never deleted by hand)."""
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request: HttpRequest, obj: Deployment) -> None:
        services.delete_deployment(obj.name, actor=request.user, interface=Interface.ADMIN)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Deployment]) -> None:
        for deployment in queryset:
            self.delete_model(request, deployment)
