"""Page views: the deployments list, the topology editor and the live metrics page."""

import re
from functools import cache
from pathlib import Path

import plotly
from django.contrib.auth.decorators import login_required as _login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from orchestrator.spec.editor_fields import editor_fields
from topology_editor import roles
from topology_editor.models import Deployment

#: The pages' own login form: the admin's only lets staff in.
login_required = _login_required(login_url="pages:login")

#: Plotly's bundle ships inside the pinned ``plotly`` Python package: no CDN, works offline.
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@cache
def plotly_style_ids() -> list[str]:
    """The ids of the ``<style>`` elements Plotly's bundle would add to the page, which the CSP
    refuses: its own rules ("plotly.js-style-global", given to a linked stylesheet that Plotly
    then fills through the CSSOM) and the map library's (skipped when the id exists; no chart
    here is a map). The metrics page links an empty stylesheet under each id."""
    bundled = re.findall(
        r'getElementById\("([\w.-]+)"\)\)\{var \w+=document\.createElement\("style"\)',
        PLOTLY_JS.read_text(encoding="utf-8"),
    )
    return ["plotly.js-style-global", *bundled]


def _abilities(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {
        "can_add": user.has_perm(roles.ADD),
        "can_change": user.has_perm(roles.CHANGE),
        "can_rebalance": user.has_perm(roles.REBALANCE),
        "can_operate": user.has_perm(roles.ROLLBACK),  # roll back, mark bad, resume automation
    }


def _deployment_page(
    request: HttpRequest, name: str, template: str, extra: dict[str, object] | None = None
) -> HttpResponse:
    # The role first: a user without one learns nothing, not even which names exist (403, not 404).
    if not request.user.has_perm(roles.VIEW):
        raise PermissionDenied("your role does not allow reading deployments")
    if not Deployment.objects.filter(name=name).exists():
        raise Http404(name)
    return render(request, template, {"name": name, **_abilities(request), **(extra or {})})


@login_required
@require_GET
def deployment_list(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/deployments.html", _abilities(request))


@login_required
@require_GET
def editor(request: HttpRequest, name: str) -> HttpResponse:
    # The spec's fields and defaults come with the page (json_script, no second request): the
    # editor draws its panel and new entities from them, not from a copy in JavaScript.
    return _deployment_page(request, name, "pages/editor.html", {"spec_fields": editor_fields()})


@login_required
@require_GET
def metrics(request: HttpRequest, name: str) -> HttpResponse:
    return _deployment_page(request, name, "pages/metrics.html", {"plotly_style_ids": plotly_style_ids()})


@login_required
@require_GET
def plotly_js(request: HttpRequest) -> FileResponse:
    response = FileResponse(PLOTLY_JS.open("rb"), content_type="text/javascript")
    response["Cache-Control"] = "private, max-age=86400"
    return response
