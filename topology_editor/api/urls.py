"""The API's routes, under ``/api/`` (namespace ``api``). Deployments, entities, pods and
revisions are addressed by name; the literal routes (``import``, ``revisions/diff``) come
before the named ones."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from topology_editor.api import errors
from topology_editor.api.views.automation import AutomationViewSet
from topology_editor.api.views.autoscale import AutoscaleViewSet
from topology_editor.api.views.bad_revisions import BadRevisionViewSet
from topology_editor.api.views.canary import CanaryViewSet
from topology_editor.api.views.deployments import DeploymentViewSet
from topology_editor.api.views.drain import DrainViewSet
from topology_editor.api.views.history import RevisionViewSet, StatusViewSet
from topology_editor.api.views.load_rebalance import LoadRebalanceViewSet
from topology_editor.api.views.manifests import ManifestViewSet
from topology_editor.api.views.partitions import PartitionViewSet
from topology_editor.api.views.parts import EntityViewSet, PodViewSet
from topology_editor.api.views.scale import ScaleViewSet
from topology_editor.api.views.spec_schema import SpecSchemaView

app_name = "api"

COLLECTION = {"get": "list", "post": "create"}
ITEM = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
DEPLOYMENT = "deployments/<slug:name>/"
ENTITY = f"{DEPLOYMENT}entities/<slug:entity>/"

urlpatterns = [
    path("deployments/", DeploymentViewSet.as_view(COLLECTION), name="deployment-list"),
    path(
        "deployments/import/", ManifestViewSet.as_view({"post": "import_manifest"}), name="deployment-import"
    ),
    path(DEPLOYMENT, DeploymentViewSet.as_view(ITEM), name="deployment-detail"),
    path(f"{DEPLOYMENT}export/", ManifestViewSet.as_view({"get": "export"}), name="deployment-export"),
    path(f"{DEPLOYMENT}move/", PartitionViewSet.as_view({"post": "move"}), name="deployment-move"),
    path(f"{DEPLOYMENT}moves/", PartitionViewSet.as_view({"post": "move_many"}), name="deployment-moves"),
    path(
        f"{DEPLOYMENT}automation/",
        AutomationViewSet.as_view({"get": "retrieve", "post": "update_state"}),
        name="deployment-automation",
    ),
    path(f"{DEPLOYMENT}status/", StatusViewSet.as_view({"get": "status"}), name="deployment-status"),
    path(f"{DEPLOYMENT}audit/", StatusViewSet.as_view({"get": "audit"}), name="deployment-audit"),
    path(f"{DEPLOYMENT}entities/", EntityViewSet.as_view(COLLECTION), name="entity-list"),
    path(ENTITY, EntityViewSet.as_view(ITEM), name="entity-detail"),
    path(f"{ENTITY}rebalance/", PartitionViewSet.as_view({"post": "rebalance"}), name="entity-rebalance"),
    path(
        f"{ENTITY}rebalance/load/",
        LoadRebalanceViewSet.as_view({"post": "rebalance_by_load"}),
        name="entity-rebalance-load",
    ),
    path(
        f"{ENTITY}autoscale/",
        AutoscaleViewSet.as_view({"get": "retrieve", "put": "update_policy"}),
        name="entity-autoscale",
    ),
    path(
        f"{ENTITY}autoscale/apply/",
        AutoscaleViewSet.as_view({"post": "approve"}),
        name="entity-autoscale-apply",
    ),
    path(f"{ENTITY}scale/", ScaleViewSet.as_view({"post": "scale"}), name="entity-scale"),
    path(
        f"{ENTITY}canary/", CanaryViewSet.as_view({"get": "retrieve", "post": "start"}), name="entity-canary"
    ),
    path(
        f"{ENTITY}canary/promote/", CanaryViewSet.as_view({"post": "promote"}), name="entity-canary-promote"
    ),
    path(f"{ENTITY}canary/abort/", CanaryViewSet.as_view({"post": "abort"}), name="entity-canary-abort"),
    path(f"{ENTITY}pods/", PodViewSet.as_view(COLLECTION), name="pod-list"),
    path(f"{ENTITY}pods/<slug:pod>/", PodViewSet.as_view(ITEM), name="pod-detail"),
    path(f"{ENTITY}pods/<slug:pod>/drain/", DrainViewSet.as_view({"post": "drain"}), name="pod-drain"),
    path(f"{DEPLOYMENT}revisions/", RevisionViewSet.as_view({"get": "list"}), name="revision-list"),
    path(f"{DEPLOYMENT}revisions/diff/", RevisionViewSet.as_view({"get": "diff"}), name="revision-diff"),
    path(
        f"{DEPLOYMENT}revisions/<slug:revision>/",
        RevisionViewSet.as_view({"get": "retrieve"}),
        name="revision-detail",
    ),
    path(
        f"{DEPLOYMENT}revisions/<slug:revision>/rollback/",
        RevisionViewSet.as_view({"post": "rollback"}),
        name="revision-rollback",
    ),
    path(
        f"{DEPLOYMENT}revisions/<slug:revision>/bad/",
        BadRevisionViewSet.as_view({"post": "mark_bad"}),
        name="revision-bad",
    ),
    path("spec-schema/", SpecSchemaView.as_view(), name="spec-schema"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the page has no inline script (CSP).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api_docs.html"),
        name="docs",
    ),
    # Last: anything else under /api/ is a JSON 404 (invoker_web/urls.py puts api/auth/ first).
    re_path(r"^(?P<path>.*)$", errors.unknown_route, name="unknown"),
]
