"""Container logs in the dashboard: a page per deployment, its JSON reads, and a follow socket.

Who may read logs (docs/logs.md): users who may change deployments (the editor and operator
roles, and superusers), not viewers. A pod's log carries whatever its code prints, records
and their values included, and the reasons a viewer needs (phase, restarts, the last error
line) are already in the status. Every read goes through :func:`refusal` (HTTP 401/403, close
codes 4401/4403). The reads come from :mod:`orchestrator.reconciler.logs`, which bounds them in lines and
bytes; they live here, in the web layer, because the editor's layer may not import a backend.
"""

from __future__ import annotations

import asyncio
from functools import cache
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from orchestrator.reconciler.logs import (
    DEFAULT_LINES,
    MAX_BYTES,
    MAX_LINES,
    LocalLogs,
    LogChunk,
    LogNotFoundError,
    LogReader,
    LogRequestError,
    LogSourceError,
    check_request,
)
from topology_editor import roles
from topology_editor.models import Deployment
from topology_editor.views.pages import login_required

#: The permission that lets a user read logs: the one that lets them change the code writing them.
READ_LOGS = roles.CHANGE
#: How often a followed log is read again.
FOLLOW_SECONDS = 1.0
CLOSE_BAD_REQUEST, CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND = 4400, 4401, 4403, 4404
CLOSE_INTERNAL = 1011


@cache
def reader() -> LogReader:
    """The configured backend's log reader (one per process: the Kubernetes one holds a pool)."""
    if settings.INVOKER_BACKEND == "kubernetes":
        from orchestrator.reconciler.kube import load_api_client
        from orchestrator.reconciler.logs import KubeLogs

        api = load_api_client(settings.INVOKER_KUBECONFIG, settings.INVOKER_KUBE_IN_CLUSTER)
        return KubeLogs(api, settings.INVOKER_NAMESPACE)
    return LocalLogs(settings.INVOKER_LOCAL_STATE_DIR, settings.INVOKER_NAMESPACE)


def refusal(user: Any) -> tuple[int, str] | None:
    """(HTTP status, message) when ``user`` may not read logs; None when they may."""
    if user is None or not user.is_authenticated:
        return 401, "sign in to read logs"
    if not user.has_perm(READ_LOGS):
        return 403, "your role does not allow reading logs (editors and operators may; docs/logs.md)"
    return None


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _lines_param(raw: str | None) -> int:
    try:
        return int(raw) if raw is not None else DEFAULT_LINES
    except ValueError:
        raise LogRequestError(f"lines must be a whole number from 1 to {MAX_LINES}, not {raw!r}") from None


def _checked(request: HttpRequest, name: str) -> JsonResponse | None:
    """A JSON refusal, or None. The role comes first: a user who may not read logs learns
    nothing, not even which deployments exist (403, never 404). Signed out, the reads send to
    the login form like the pages do (``login_required``)."""
    refused = refusal(request.user)
    if refused:
        return _error(refused[0], "forbidden" if refused[0] == 403 else "unauthenticated", refused[1])
    if not Deployment.objects.filter(name=name).exists():
        return _error(404, "not_found", f"deployment {name!r} does not exist")
    return None


@login_required
@require_GET
def page(request: HttpRequest, name: str) -> HttpResponse:
    """The logs page of one deployment: pick a pod and a container, read, follow."""
    refused = refusal(request.user)
    if refused:
        raise PermissionDenied(refused[1])
    if not Deployment.objects.filter(name=name).exists():
        raise Http404(name)
    limits = {"default_lines": DEFAULT_LINES, "max_lines": MAX_LINES, "max_bytes": MAX_BYTES}
    return render(request, "pages/logs.html", {"name": name, **limits})


@login_required
@require_GET
def pods(request: HttpRequest, name: str) -> JsonResponse:
    """The deployment's pods and their containers."""
    refused = _checked(request, name)
    if refused:
        return refused
    try:
        return JsonResponse({"deployment": name, "pods": reader().pods(name)})
    except LogSourceError as exc:
        return _error(503, "unavailable", str(exc))


@login_required
@require_GET
def tail(request: HttpRequest, name: str, pod: str, container: str) -> JsonResponse:
    """The last ``?lines=N`` lines (default 200, at most 2000, at most 256 KiB) of a container."""
    refused = _checked(request, name)
    if refused:
        return refused
    try:
        chunk = reader().tail(name, pod, container, _lines_param(request.GET.get("lines")))
    except LogRequestError as exc:
        return _error(400, "invalid", str(exc))
    except LogNotFoundError as exc:
        return _error(404, "not_found", str(exc))
    except LogSourceError as exc:
        return _error(503, "unavailable", str(exc))
    return JsonResponse(_body(chunk) | {"maxLines": MAX_LINES, "maxBytes": MAX_BYTES})


def _body(chunk: LogChunk) -> dict[str, Any]:
    return {
        "pod": chunk.pod,
        "container": chunk.container,
        "lines": chunk.lines,
        "truncated": chunk.truncated,
    }


class LogFollowConsumer(AsyncJsonWebsocketConsumer):
    """Follows one container's log: the last ``?lines=N`` lines, then what it gains, every
    :data:`FOLLOW_SECONDS`. Refusals are closes with a code after the handshake (as the metrics
    socket does: a refused handshake is 1006, which a page cannot tell from a network failure):
    4401/4403 for the user, 4400 for a bad request, 4404 for an unknown deployment, pod or
    container, each after an ``error`` message naming what is wrong. The session is read again
    before each batch of lines, so a user who signs out stops receiving."""

    async def connect(self) -> None:
        await self.accept()
        kwargs = self.scope["url_route"]["kwargs"]
        self.deployment = kwargs["name"]
        refused = await database_sync_to_async(refusal)(self.scope.get("user"))
        if refused:
            await self._fail(CLOSE_UNAUTHENTICATED if refused[0] == 401 else CLOSE_FORBIDDEN, refused[1])
            return
        if not await database_sync_to_async(Deployment.objects.filter(name=self.deployment).exists)():
            await self._fail(CLOSE_NOT_FOUND, f"deployment {self.deployment!r} does not exist")
            return
        query = {k: v[-1] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items()}
        try:
            lines = _lines_param(query.get("lines"))
            check_request(kwargs["pod"], kwargs["container"], lines)
            chunk = await sync_to_async(reader().tail, thread_sensitive=False)(
                self.deployment, kwargs["pod"], kwargs["container"], lines
            )
        except LogRequestError as exc:
            await self._fail(CLOSE_BAD_REQUEST, str(exc))
            return
        except LogNotFoundError as exc:
            await self._fail(CLOSE_NOT_FOUND, str(exc))
            return
        except LogSourceError as exc:
            await self._fail(CLOSE_INTERNAL, str(exc))
            return
        await self.send_json({"type": "lines", **_body(chunk)})
        self.task = asyncio.ensure_future(self._follow(chunk))

    async def _follow(self, chunk: LogChunk) -> None:
        follow = sync_to_async(reader().follow, thread_sensitive=False)
        while True:
            await asyncio.sleep(FOLLOW_SECONDS)
            try:
                chunk = await follow(self.deployment, chunk)
            except Exception as exc:  # the API or the file went away: say so, rather than hang
                await self._fail(CLOSE_INTERNAL, f"reading the log failed: {exc}")
                return
            if not chunk.lines:
                continue
            refused = await database_sync_to_async(refusal)(await self._current_user())
            if refused:
                await self._fail(CLOSE_UNAUTHENTICATED if refused[0] == 401 else CLOSE_FORBIDDEN, refused[1])
                return
            await self.send_json({"type": "lines", **_body(chunk)})

    async def disconnect(self, code: int) -> None:
        task = getattr(self, "task", None)
        if task is not None:
            task.cancel()

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        await self.send_json(
            {
                "type": "error",
                "error": {"code": "not_supported", "message": "this socket only sends log lines"},
            }
        )

    async def _fail(self, code: int, message: str) -> None:
        await self.send_json({"type": "error", "error": {"code": str(code), "message": message}})
        await self.close(code=code)

    async def _current_user(self) -> Any:
        session = self.scope.get("session")
        if session is None or session.session_key is None:
            return None
        engine = import_module(settings.SESSION_ENGINE)
        return await get_user({"session": engine.SessionStore(session.session_key)})
