"""Websocket consumers: the browser subscribes here and never polls."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from topology_editor.groups import metrics_group
from topology_editor.roles import VIEW

# 4401 and 4403 mirror HTTP 401 and 403 in the application range of close codes (4000-4999).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class DeploymentMetricsConsumer(AsyncJsonWebsocketConsumer):
    """Forwards the collector's per-deployment messages to one browser tab."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(user.has_perm)(VIEW):
            await self.close(code=CLOSE_FORBIDDEN)  # signed in, but no role that may read deployments
            return
        self.group = metrics_group(self.scope["url_route"]["kwargs"]["name"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def metrics_update(self, event: dict[str, Any]) -> None:
        """Handler for `{"type": "metrics.update", "payload": {...}}` group messages."""
        await self.send_json({"type": "metrics", "payload": event["payload"]})
