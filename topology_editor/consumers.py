"""Websocket consumers: the browser subscribes here and never polls."""

import contextlib
import logging
import time
from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from topology_editor import fanout
from topology_editor.fanout import CLOSE_SERVICE_RESTART, CLOSE_TRY_AGAIN_LATER, SEND_NOW, frame_of
from topology_editor.groups import metrics_group
from topology_editor.list_events import LIST_GROUP
from topology_editor.models import Deployment
from topology_editor.presence import PresenceMixin
from topology_editor.roles import VIEW

# 4401 and 4403 mirror HTTP 401 and 403 in the application range of close codes (4000-4999).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403

log = logging.getLogger(__name__)


class DeploymentMetricsConsumer(PresenceMixin, AsyncJsonWebsocketConsumer):
    """Forwards the collector's per-deployment messages to one browser tab.

    A refused socket is accepted first and then closed with 4401 or 4403: a browser sees the
    code of a close frame only after the handshake (a refused handshake is 1006, "abnormal",
    which the page cannot tell from a network failure and would reconnect after forever). The
    session is read again before each message is forwarded, so a tab whose user signed out (or
    lost the role) is closed at the next message instead of streaming on. The socket only
    sends, but for the editor's presence (:mod:`topology_editor.presence`): whatever else a
    client sends is answered with an error message, never raised.
    """

    async def connect(self) -> None:
        refusal = await self._refusal(self.scope.get("user"))
        if not refusal:
            # Joined before the handshake completes, so no payload published once the client
            # sees the socket open can miss it.
            refusal = await self._join_metrics_group(metrics_group(self.scope["url_route"]["kwargs"]["name"]))
        await self.accept()
        if refusal:
            await self.close(code=refusal)
        else:
            self._take_direct_frames()

    def _take_direct_frames(self) -> None:
        """Lets the fan-out write this socket's frames directly, where the server offers it
        (Uvicorn with our protocol; not channels' test communicator) and the layer takes it."""
        send_now = self.scope.get("extensions", {}).get(SEND_NOW, {}).get("send_text")
        session = self.scope.get("session")
        add_shortcut = getattr(self.channel_layer, "add_shortcut", None)
        if send_now is None or add_shortcut is None or session is None or session.session_key is None:
            return
        self.session_key: str = session.session_key
        self.send_now = send_now
        add_shortcut("metrics.update", fanout.deliver_metrics)
        fanout.register(self.channel_name, self)

    async def disconnect(self, code: int) -> None:
        await self._release()

    async def _release(self) -> None:
        """Runs :meth:`_leave` once, whichever of the disconnect or :meth:`__call__`'s end comes first."""
        if getattr(self, "released", False):
            return
        self.released = True
        fanout.unregister(getattr(self, "channel_name", ""))
        await self._leave()

    async def _leave(self) -> None:
        """Out of the metrics group and of the editor's presence; the presence is left (its
        refresher stopped) even when leaving the group fails."""
        try:
            if hasattr(self, "group"):
                await self.channel_layer.group_discard(self.group, self.channel_name)
        finally:
            await self.presence_leave()

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if text_data is not None and await self.presence_receive(text_data):
            return
        # Not parsed at all (nothing is expected), so no frame, JSON or not, can raise here.
        kind = "binary frames are" if text_data is None else "messages are"
        await self._error("not_supported", f"this socket only sends metrics; {kind} not read")

    async def metrics_update(self, event: dict[str, Any]) -> None:
        """Handler for `{"type": "metrics.update", "payload": {...}}` group messages: the frame
        is encoded, and each user's session read, once for all the sockets of this process."""
        frame = frame_of(event["payload"])
        session = self.scope.get("session")
        if session is None or session.session_key is None:
            refusal = CLOSE_UNAUTHENTICATED
        else:
            refusal = await frame.refusal(session.session_key, self.session_refusal)
        if refusal:
            await self.close(code=refusal)
            return
        await self.send(text_data=frame.text)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """A metrics frame skips channels' per-message ``close_old_connections`` (a hop to the
        database thread for each socket, each frame, which 1,000 sockets queue behind one
        another); the handler touches the database only through ``database_sync_to_async``,
        which does that itself."""
        if message["type"] == "metrics.update":
            await self.metrics_update(message)
        else:
            await super().dispatch(message)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Redis lost under an open socket (a restart) ends it with 1012, "service restart",
        which the page reconnects after, instead of a dropped connection without a close frame.

        However the consumer ends, it leaves its groups and the editor's presence. A message
        sent to a client that has just gone raises (Uvicorn's ``ClientDisconnected``) before
        the disconnect is read, and Uvicorn swallows that: ``disconnect`` never ran, so a closed
        tab stayed in the others' presence lists for good (its refresher still running)."""
        try:
            await super().__call__(scope, receive, send)
        except RedisError as exc:
            log.warning("websocket closed with %s, Redis lost: %s", CLOSE_SERVICE_RESTART, exc)
            # The client may have gone already, or the socket been closed: then there is no one to tell.
            with contextlib.suppress(OSError, RuntimeError):
                await send({"type": "websocket.close", "code": CLOSE_SERVICE_RESTART})
        finally:
            try:
                await self._release()
            except RedisError as exc:  # its entries expire (presence TTL, channel layer expiry)
                log.warning("websocket ended without leaving its groups, Redis lost: %s", exc)

    async def _join_metrics_group(self, group: str) -> int | None:
        """Joins ``group``; without Redis, the close code that tells the page to retry later
        (1013) rather than a handshake answered with HTTP 500."""
        try:
            await self.channel_layer.group_add(group, self.channel_name)
        except RedisError as exc:
            log.warning("websocket refused with %s: cannot join %s (%s)", CLOSE_TRY_AGAIN_LATER, group, exc)
            return CLOSE_TRY_AGAIN_LATER
        self.group = group
        return None

    async def session_refusal(self) -> int | None:
        """The close code for the socket's user as the session store has it now, or None."""
        return await self._refusal(await self._current_user())

    async def _refusal(self, user: Any) -> int | None:
        """The close code for ``user``, or None if they may read deployments."""
        if user is None or not user.is_authenticated:
            return CLOSE_UNAUTHENTICATED
        if not await database_sync_to_async(user.has_perm)(VIEW):
            return CLOSE_FORBIDDEN  # signed in, but no role that may read deployments
        return None

    async def _current_user(self) -> Any:
        """The user of the socket's session as stored now (signed out: anonymous), read afresh
        rather than from the handshake's cached session and user."""
        session = self.scope.get("session")
        if session is None or session.session_key is None:
            return None
        engine = import_module(settings.SESSION_ENGINE)
        return await get_user({"session": engine.SessionStore(session.session_key)})

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "error": {"code": code, "message": message}})


# --- The deployments list (issue 18 item 7): one socket per list page -------------------------


#: How long the list socket trusts its last check of the session.
LIST_RECHECK_SECONDS = 2.0


class DeploymentListConsumer(DeploymentMetricsConsumer):
    """One socket for the whole deployments list: rows created and deleted (from
    :mod:`topology_editor.list_events`) and each deployment's status from the collector.

    The server joins the socket to every deployment's metrics group, so the page keeps one
    connection however many rows it shows, and forwards only each payload's ``status`` (the
    list draws no pods or rates). It joins the list group *before* reading the names, so a
    deployment created meanwhile is announced rather than missed. Refusals, the per-message
    check of the session and the answer to client messages are the metrics socket's.
    """

    async def connect(self) -> None:
        refusal = await self._refusal(self.scope.get("user"))
        self.groups_joined: set[str] = set()
        if not refusal:
            refusal = await self._join_all()
        await self.accept()
        if refusal:
            await self.close(code=refusal)

    async def _join_all(self) -> int | None:
        """Joins the list group, then each deployment's; without Redis, the close code that
        tells the page to retry later (1013), as the metrics socket does, never an HTTP 500."""
        try:
            await self._join(LIST_GROUP)
            for name in await database_sync_to_async(_deployment_names)():
                await self._join(metrics_group(name))
        except RedisError as exc:
            log.warning("list websocket refused with %s: %s", CLOSE_TRY_AGAIN_LATER, exc)
            return CLOSE_TRY_AGAIN_LATER
        return None

    async def _leave(self) -> None:
        for group in getattr(self, "groups_joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def deployments_changed(self, event: dict[str, Any]) -> None:
        """Handler for ``{"type": "deployments.changed", "event": ..., "name": ...}``."""
        if not await self._still_allowed():
            return
        group = metrics_group(event["name"])
        if event["event"] == "created":
            await self._join(group)
        elif group in self.groups_joined:
            self.groups_joined.discard(group)
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.send_json({"type": event["event"], "name": event["name"]})

    async def metrics_update(self, event: dict[str, Any]) -> None:
        if not await self._still_allowed():
            return
        payload = event["payload"]
        await self.send_json({"type": "status", "name": payload["deployment"], "status": payload["status"]})

    async def _still_allowed(self) -> bool:
        """The session is read again at most every :data:`LIST_RECHECK_SECONDS`, not at each of
        the many deployments' messages; a signed-out tab is closed within that time."""
        now = time.monotonic()
        if now - getattr(self, "checked_at", 0.0) < LIST_RECHECK_SECONDS:
            return True
        refusal = await self._refusal(await self._current_user())
        if refusal:
            await self.close(code=refusal)
            return False
        self.checked_at = now
        return True

    async def _join(self, group: str) -> None:
        self.groups_joined.add(group)
        await self.channel_layer.group_add(group, self.channel_name)


def _deployment_names() -> list[str]:
    return list(Deployment.objects.values_list("name", flat=True))
