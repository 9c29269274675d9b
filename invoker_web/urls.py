"""Top-level URLs: health probes are open; everything else requires a login."""

from django.contrib import admin
from django.urls import path

from invoker_web import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
