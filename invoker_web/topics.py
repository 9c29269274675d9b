"""The topics page of a deployment (issue 18 item 3): each topic it uses with partitions, end
offsets, committed offsets and lag read from the broker, and a bounded peek at the records.

Who may read what (docs/topics.md): the table (counts, offsets, lag) is for every role that may
read the deployment; the peek shows records, whose keys and values are the users' data, so it is
for the roles that may change the deployment (editors, operators, superusers), as the logs are.

The reads are :mod:`jobs.topics_view`'s, in the web layer because the editor's layer may not use
the orchestrator's broker code. They run off the request thread (``thread_sensitive=False``): a
broker that does not answer costs a read its bounded timeout without holding up other views,
and it is answered 503 with the reason, never 500.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jobs import topics_view
from orchestrator import DeploymentSpec
from topology_editor import roles, topic_history
from topology_editor.models import Deployment
from topology_editor.spec_rows import spec_from_rows
from topology_editor.views.pages import login_required

log = logging.getLogger(__name__)

#: The permission that lets a user peek at records: the one that lets them change what writes them.
PEEK = roles.CHANGE
#: How often the page reads the table again when no metrics payload asked it to.
REFRESH_SECONDS = 5
#: A table read is shared by every page of the deployment open on this web process for this long:
#: the broker answers one read per deployment per interval, however many pages poll.
SHARED_SECONDS = 2.0
_TABLES: dict[str, tuple[float, DeploymentSpec, dict[str, Any]]] = {}
_TABLES_LOCK = threading.Lock()
#: A followed peek stops after this long or this many records; the user starts it again.
TAIL_SECONDS, TAIL_RECORDS, TAIL_EVERY_SECONDS = 60, 500, 2


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _refusal(user: Any, permission: str) -> JsonResponse | None:
    if user is None or not user.is_authenticated:
        return _error(401, "unauthenticated", "sign in to read topics")
    if not user.has_perm(permission):
        what = "peeking at records" if permission == PEEK else "reading deployments"
        allowed = " (editors and operators may; docs/topics.md)" if permission == PEEK else ""
        return _error(403, "forbidden", f"your role does not allow {what}{allowed}")
    return None


def _spec_or_refusal(request: HttpRequest, name: str, permission: str) -> DeploymentSpec | JsonResponse:
    """The deployment's saved spec, or the JSON refusal: the role first (403, never 404, so a
    user without it learns nothing about which deployments exist), then 404."""
    refused = _refusal(request.user, permission)
    if refused:
        return refused
    deployment = Deployment.objects.filter(name=name).first()
    if deployment is None:
        return _error(404, "not_found", f"deployment {name!r} does not exist")
    return spec_from_rows(deployment)


@login_required
@require_GET
def page(request: HttpRequest, name: str) -> HttpResponse:
    """The topics page: the table, refreshed live, and the peek for those who may."""
    if not request.user.has_perm(roles.VIEW):
        raise PermissionDenied("your role does not allow reading deployments")
    if not Deployment.objects.filter(name=name).exists():
        raise Http404(name)
    context = {
        "name": name,
        "can_change": request.user.has_perm(roles.CHANGE),
        "can_peek": request.user.has_perm(PEEK),
        "refresh_seconds": REFRESH_SECONDS,
        "limits": {
            "records": topics_view.MAX_PEEK_RECORDS,
            "defaultRecords": topics_view.DEFAULT_PEEK_RECORDS,
            "fieldBytes": topics_view.MAX_FIELD_BYTES,
            "bytes": topics_view.MAX_PEEK_BYTES,
            "tailSeconds": TAIL_SECONDS,
            "tailRecords": TAIL_RECORDS,
            "tailEverySeconds": TAIL_EVERY_SECONDS,
        },
    }
    return render(request, "pages/topics.html", context)


@login_required
@require_GET
async def table(request: HttpRequest, name: str) -> JsonResponse:
    """Every topic of the deployment with its partitions, offsets and lag (``jobs.topics_view``).
    An unreachable broker is in ``brokerErrors`` and in each of its topics' ``problem``.
    ``?history=1`` adds the kept samples of the last minutes (``topology_editor.topic_history``):
    the page asks once, when it opens, to draw the trend it would otherwise start without."""
    spec = await sync_to_async(_spec_or_refusal)(request, name, roles.VIEW)
    if isinstance(spec, JsonResponse):
        return spec
    read = await sync_to_async(shared_table, thread_sensitive=False)(spec)
    if request.GET.get("history") == "1":
        read = {**read, "history": await sync_to_async(_history, thread_sensitive=False)(name, read["time"])}
    return JsonResponse(read)


def _history(name: str, before: float) -> list[dict[str, Any]]:
    try:
        return topic_history.recent(name, before)
    except redis.RedisError as exc:  # the table is still the truth; only its trend starts flat
        log.warning("topic history of %s not read: %s", name, exc)
        return []


def _keep(table: dict[str, Any]) -> None:
    try:
        topic_history.record(table)
    except redis.RedisError as exc:
        log.warning("topic history of %s not kept: %s", table["deployment"], exc)


def shared_table(spec: DeploymentSpec) -> dict[str, Any]:
    """The deployment's table as read at most :data:`SHARED_SECONDS` ago for the same spec, else
    a fresh read (two requests missing at once both read; nothing waits on a lock for the broker)."""
    now = time.monotonic()
    with _TABLES_LOCK:
        kept = _TABLES.get(spec.name)
    if kept is not None and kept[1] == spec and now - kept[0] < SHARED_SECONDS:
        return kept[2]
    table = topics_view.read_topics(spec)
    _keep(table)
    with _TABLES_LOCK:
        if len(_TABLES) > 1000:  # deployments come and go: never grow without bound
            _TABLES.clear()
        _TABLES[spec.name] = (now, spec, table)
    return table


@login_required
@require_GET
async def peek(request: HttpRequest, name: str) -> JsonResponse:
    """``?topic=T&partition=P&limit=N``: the last N records of the partition (at most 100 and
    64 KiB, each key and value cut to 1 KiB); ``&from=O`` goes on from offset O (a tail)."""
    spec = await sync_to_async(_spec_or_refusal)(request, name, PEEK)
    if isinstance(spec, JsonResponse):
        return spec
    query = request.GET
    try:
        checked = topics_view.check_peek(
            spec, query.get("topic", ""), query.get("partition"), query.get("limit"), query.get("from")
        )
        return JsonResponse(await sync_to_async(topics_view.peek, thread_sensitive=False)(checked))
    except topics_view.TopicsViewError as exc:
        code = {400: "invalid", 404: "not_found", 503: "unavailable"}[exc.status]
        return _error(exc.status, code, str(exc))
