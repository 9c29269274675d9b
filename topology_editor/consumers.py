"""Websocket consumers: the browser subscribes here and never polls."""

from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from topology_editor.groups import metrics_group
from topology_editor.roles import VIEW

# 4401 and 4403 mirror HTTP 401 and 403 in the application range of close codes (4000-4999).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class DeploymentMetricsConsumer(AsyncJsonWebsocketConsumer):
    """Forwards the collector's per-deployment messages to one browser tab.

    A refused socket is accepted first and then closed with 4401 or 4403: a browser sees the
    code of a close frame only after the handshake (a refused handshake is 1006, "abnormal",
    which the page cannot tell from a network failure and would reconnect after forever). The
    session is read again before each message is forwarded, so a tab whose user signed out (or
    lost the role) is closed at the next message instead of streaming on. The socket only
    sends: whatever a client sends is answered with an error message, never raised.
    """

    async def connect(self) -> None:
        refusal = await self._refusal(self.scope.get("user"))
        if not refusal:
            # Joined before the handshake completes, so no payload published once the client
            # sees the socket open can miss it.
            self.group = metrics_group(self.scope["url_route"]["kwargs"]["name"])
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        if refusal:
            await self.close(code=refusal)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        # Not parsed at all (nothing is expected), so no frame, JSON or not, can raise here.
        kind = "binary frames are" if text_data is None else "messages are"
        await self._error("not_supported", f"this socket only sends metrics; {kind} not read")

    async def metrics_update(self, event: dict[str, Any]) -> None:
        """Handler for `{"type": "metrics.update", "payload": {...}}` group messages."""
        refusal = await self._refusal(await self._current_user())
        if refusal:
            await self.close(code=refusal)
            return
        await self.send_json({"type": "metrics", "payload": event["payload"]})

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
