"""A deployment's history pages: its revisions (number, name, who, trigger, when, reapplied),
the diff of any two revisions or of one against the saved spec, and rollback behind a
confirmation page that shows what the rollback would change.

Viewers read the list and the diffs; rolling back (and its confirmation page) needs the
operator role (:data:`topology_editor.roles.ROLLBACK`), as in the API and the admin. The
pages render on the server: they need no script, and work as plain links and forms.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from orchestrator import FieldError, SpecError
from topology_editor import dry_run_hook, roles, services
from topology_editor.models import AuditEntry, Deployment, Interface, ReconcileResult, Revision
from topology_editor.revision_history import CURRENT, TIMELINE_FILTERS, revision_rows, spec_diff, timeline
from topology_editor.views.pages import login_required


def _deployment(request: HttpRequest, name: str, permission: str = roles.VIEW) -> Deployment:
    # The role first: a user without it learns nothing, not even which names exist (403, not 404).
    if not request.user.has_perm(roles.VIEW):
        raise PermissionDenied("your role does not allow reading deployments")
    if not request.user.has_perm(permission):
        raise PermissionDenied("rolling back needs the operator role")
    deployment = Deployment.objects.filter(name=name).first()
    if deployment is None:
        raise Http404(name)
    return deployment


@login_required
@require_GET
def revisions(request: HttpRequest, name: str) -> HttpResponse:
    deployment = _deployment(request, name)
    context = {
        "name": name,
        "deployment": deployment,
        "rows": revision_rows(deployment),
        "current": CURRENT,
        "can_operate": request.user.has_perm(roles.ROLLBACK),
    }
    return render(request, "pages/revisions.html", context)


@login_required
@require_GET
def revision_diff(request: HttpRequest, name: str) -> HttpResponse:
    """``?from=A&to=B``: revision names, or ``current`` for the saved spec (the default ``to``);
    ``from`` defaults to the revision before the saved one, so the page opens on the last change."""
    deployment = _deployment(request, name)
    old = request.GET.get("from") or _previous(deployment)
    new = request.GET.get("to") or CURRENT
    try:
        diff = spec_diff(deployment, old, new)
    except Revision.DoesNotExist:
        missing = old if not deployment.revisions.filter(name=old).exists() else new
        return _bad_request(request, name, f"{name!r} has no revision {missing!r} (nothing compared)")
    context = {"name": name, "diff": diff, "can_operate": request.user.has_perm(roles.ROLLBACK)}
    return render(request, "pages/revision_diff.html", context)


@login_required
@require_GET
def audit_timeline(request: HttpRequest, name: str) -> HttpResponse:
    """Every change (who, how, what) and every reconcile run of a deployment, newest first,
    filterable by kind, action, interface, actor and reconcile result (viewer role)."""
    deployment = _deployment(request, name)
    filters = {key: request.GET.get(key, "").strip() for key in TIMELINE_FILTERS}
    actions = AuditEntry.objects.filter(deployment=deployment).values_list("action", flat=True)
    context = {
        "name": name,
        "items": timeline(deployment, filters),
        "filters": filters,
        "actions": sorted(set(actions)),
        "interfaces": Interface.choices,
        "results": ReconcileResult.choices,
    }
    return render(request, "pages/audit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def revision_rollback(request: HttpRequest, name: str, revision: str) -> HttpResponse:
    """GET: the confirmation, with the diff from the saved spec to ``revision`` and what a
    dry-run reconcile of it would change in each object, down to the field. POST: rolls back,
    if the deployment is still at the version the confirmation showed."""
    deployment = _deployment(request, name, roles.ROLLBACK)
    stored = deployment.revisions.filter(name=revision).first()
    if stored is None:
        raise Http404(revision)
    error = ""
    if request.method == "POST":
        try:
            change = services.roll_back(
                name,
                revision,
                actor=request.user,
                interface=Interface.UI,
                expected_version=_version(request.POST.get("resource_version", "")),
            )
        except (SpecError, services.ServiceError) as refused:
            error = f"Not rolled back: {refused}"
        else:
            messages.success(request, _rolled_back(stored, change))
            return HttpResponseRedirect(reverse("pages:revisions", args=[name]))
        deployment.refresh_from_db()
    plan, plan_error = dry_run_hook.preview(name, stored.manifest, stored.name, _next_number(deployment))
    context = {
        "name": name,
        "revision": stored,
        "version": deployment.resource_version,
        "diff": spec_diff(deployment, CURRENT, revision),
        "plan": plan,
        "plan_error": plan_error,
        "error": error,
    }
    return render(request, "pages/revision_rollback.html", context, status=409 if error else 200)


def _next_number(deployment: Deployment) -> int:
    """The number the revision would get: a rollback raises it above the newest."""
    newest = deployment.revisions.order_by("-number").values_list("number", flat=True).first()
    return (newest or 0) + 1


def _previous(deployment: Deployment) -> str:
    names = list(deployment.revisions.order_by("-number").values_list("name", flat=True)[:2])
    return names[-1] if names else CURRENT


def _version(value: str) -> int:
    """The version the confirmation page showed; a missing or garbled one is refused rather
    than ignored, so a rollback never lands on a spec its user did not see."""
    if not value.isdigit():
        problem = FieldError("resource_version", "the confirmation's version is missing", "required")
        raise services.InvalidRequestError([problem])
    return int(value)


def _rolled_back(revision: Revision, change: services.Change) -> str:
    if not change.changed:
        return f"{revision.name} already is the saved spec; nothing changed."
    return f"Rolled back to {revision.name}, now revision #{change.revision.number}."


def _bad_request(request: HttpRequest, name: str, message: str) -> HttpResponse:
    return render(request, "pages/revision_diff.html", {"name": name, "error": message}, status=400)
