"""Top-level URLs: health probes are open; everything else requires a login."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from invoker_web import health, logs, topics
from invoker_web.metrics_view import metrics


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico on every page; the icon is a static file (hashed in prod)."""
    return HttpResponseRedirect(static("invoker/favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # The browsable API's login and logout pages: before the API, whose last route takes the rest.
    path("api/auth/", include("rest_framework.urls")),
    path("api/", include("topology_editor.api.urls")),
    # Container logs (invoker_web/logs.py: the web layer, which may read a backend).
    path("deployments/<slug:name>/logs/", logs.page, name="logs"),
    path("deployments/<slug:name>/logs/pods/", logs.pods, name="logs-pods"),
    path("deployments/<slug:name>/logs/<str:pod>/<str:container>/", logs.tail, name="logs-tail"),
    # Topics, offsets, lag and the record peek (invoker_web/topics.py: reads the broker).
    path("deployments/<slug:name>/topics/", topics.page, name="topics"),
    path("deployments/<slug:name>/topics/data/", topics.table, name="topics-data"),
    path("deployments/<slug:name>/topics/peek/", topics.peek, name="topics-peek"),
    # The dashboard's pages and their login (topology_editor/urls_pages.py).
    path("", include("topology_editor.urls_pages")),
]

# The API answers in its own error shape even where no route matched.
handler404 = "topology_editor.api.errors.not_found"
handler500 = "topology_editor.api.errors.server_error"
