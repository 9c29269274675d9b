"""The metrics page's history: what the collector kept of the last hour, drawn before live data."""

import json

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from topology_editor import metrics_history, roles
from topology_editor.models import Deployment
from topology_editor.views.pages import login_required

#: The time ranges the page offers (5 min, 15 min, 1 h); any whole number of seconds up to
#: the kept hour is accepted.
RANGES_SECONDS = (300, 900, 3600)


def bad_request(code: str, message: str) -> JsonResponse:
    """The API's error shape (``{"error": {"code", "message"}}``), which common.js reads."""
    return JsonResponse({"error": {"code": code, "message": message}}, status=400)


@login_required
@require_GET
def history(request: HttpRequest, name: str) -> HttpResponse:
    if not request.user.has_perm(roles.VIEW):
        raise PermissionDenied("your role does not allow reading deployments")
    if not Deployment.objects.filter(name=name).exists():
        raise Http404(name)
    raw = request.GET.get("seconds", str(metrics_history.HISTORY_SECONDS))
    try:
        seconds = int(raw)
    except ValueError:
        seconds = 0
    if not 1 <= seconds <= metrics_history.HISTORY_SECONDS:
        return bad_request(
            "invalid_seconds",
            f"seconds must be a whole number from 1 to {metrics_history.HISTORY_SECONDS}, not {raw!r}",
        )
    head = {
        "deployment": name,
        "seconds": seconds,
        "intervalSeconds": float(settings.INVOKER_METRICS_INTERVAL_SECONDS),
        "ranges": RANGES_SECONDS,
    }
    # The samples are passed on as the JSON text they are kept as: an hour of 20 pods is ~5 MB,
    # which parsing and serialising again would spend a second of the web process's CPU on.
    samples = b",".join(metrics_history.read_raw(name, seconds))
    body = json.dumps(head)[:-1].encode() + b', "samples": [' + samples + b"]}"
    return HttpResponse(body, content_type="application/json")
