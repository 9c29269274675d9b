"""Websocket routes."""

from django.urls import path

from invoker_web.logs import LogFollowConsumer
from topology_editor.consumers import DeploymentListConsumer, DeploymentMetricsConsumer

websocket_urlpatterns = [
    path("ws/deployments/", DeploymentListConsumer.as_asgi()),
    path("ws/deployments/<slug:name>/metrics/", DeploymentMetricsConsumer.as_asgi()),
    path("ws/deployments/<slug:name>/logs/<str:pod>/<str:container>/", LogFollowConsumer.as_asgi()),
]
