"""The spec an admin change form would save, checked before anything is written.

Django validates the deployment form, then each inline formset; the pod formset comes last,
and its ``clean`` builds the manifest from the form's instance and the live rows of both
formsets (what the user typed, not yet saved) and runs it through
:func:`orchestrator.parse_deployment`, so a rejected spec re-renders the form with the
validator's messages and the user's input intact.
"""

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django import forms
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from orchestrator import SpecError, parse_deployment
from topology_editor.models import Deployment, Pod, StatefulEntity
from topology_editor.spec_rows import manifest_from_rows, stored_rows


class SpecDraft:
    """The inline formsets of one change-form request."""

    def __init__(self) -> None:
        self.entities: BaseInlineFormSet | None = None
        self.pods: BaseInlineFormSet | None = None

    @classmethod
    def of(cls, request: HttpRequest) -> "SpecDraft":
        """The draft of ``request``, shared by its formsets."""
        if not hasattr(request, "invoker_spec_draft"):
            request.invoker_spec_draft = cls()  # type: ignore[attr-defined]
        return request.invoker_spec_draft  # type: ignore[attr-defined]

    def manifest(self, deployment: Deployment) -> dict[str, Any]:
        stored = stored_rows(deployment) if deployment.pk else []
        entities = _live(self.entities) if self.entities else [entity for entity, _ in stored]
        pods = _live(self.pods) if self.pods else [pod for _, entity_pods in stored for pod in entity_pods]
        by_entity: dict[int | None, list[Pod]] = defaultdict(list)
        for pod in pods:
            by_entity[pod.entity_id].append(pod)
        return manifest_from_rows(
            deployment, [(entity, by_entity[entity.pk] if entity.pk else []) for entity in entities]
        )

    def check(self, deployment: Deployment) -> None:
        """Raises a ValidationError naming every problem of the resulting spec."""
        if any(form.errors for formset in (self.entities, self.pods) if formset for form in formset.forms):
            return  # the rows' own errors first
        try:
            parse_deployment(self.manifest(deployment))
        except SpecError as error:
            raise forms.ValidationError([str(problem) for problem in error.errors]) from None


def _live(formset: BaseInlineFormSet) -> list[Any]:
    """The rows a formset would keep, in ``position`` order (ties in form order)."""
    rows = list(_kept(formset))
    return [row for _, _, row in sorted((row.position or 0, i, row) for i, row in enumerate(rows))]


def _kept(formset: BaseInlineFormSet) -> Iterator[StatefulEntity | Pod]:
    for form in formset.forms:
        if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
            continue
        if form.instance.pk is None and not form.has_changed():
            continue
        yield form.instance


class DraftFormSet(BaseInlineFormSet):
    """Registers itself with the request's draft (passed in by the admin's formset kwargs)."""

    role = ""

    def __init__(self, *args: Any, draft: SpecDraft | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.draft = draft
        if draft is not None:
            setattr(draft, self.role, self)


class EntityFormSet(DraftFormSet):
    role = "entities"


class PodFormSet(DraftFormSet):
    role = "pods"

    def clean(self) -> None:
        super().clean()
        if self.draft is not None:
            self.draft.check(self.instance)
