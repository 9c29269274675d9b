"""The dashboard's pages (namespace ``pages``) and the login and logout pages."""

from django.contrib.auth import views as auth_views
from django.urls import path

from topology_editor.views import history, metrics_history, pages

app_name = "pages"

urlpatterns = [
    path("", pages.deployment_list, name="deployment-list"),
    path("deployments/<slug:name>/", pages.editor, name="editor"),
    path("deployments/<slug:name>/metrics/", pages.metrics, name="metrics"),
    path("deployments/<slug:name>/metrics/history/", metrics_history.history, name="metrics-history"),
    path("deployments/<slug:name>/revisions/", history.revisions, name="revisions"),
    path("deployments/<slug:name>/audit/", history.audit_timeline, name="audit"),
    path("deployments/<slug:name>/revisions/diff/", history.revision_diff, name="revision-diff"),
    path(
        "deployments/<slug:name>/revisions/<slug:revision>/rollback/",
        history.revision_rollback,
        name="revision-rollback",
    ),
    path("vendor/plotly.min.js", pages.plotly_js, name="plotly-js"),
    path("accounts/login/", auth_views.LoginView.as_view(next_page="pages:deployment-list"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="pages:login"), name="logout"),
]
