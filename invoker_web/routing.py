"""Websocket routes."""

from django.urls import path

from topology_editor.consumers import DeploymentMetricsConsumer

websocket_urlpatterns = [
    path("ws/deployments/<slug:name>/metrics/", DeploymentMetricsConsumer.as_asgi()),
]
