"""Websocket consumers: the browser subscribes here and never polls."""

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from topology_editor.groups import metrics_group

# 4401 mirrors HTTP 401 in the application range of websocket close codes (4000-4999).
CLOSE_UNAUTHENTICATED = 4401


class DeploymentMetricsConsumer(AsyncJsonWebsocketConsumer):
    """Forwards the collector's per-deployment messages to one browser tab."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
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
