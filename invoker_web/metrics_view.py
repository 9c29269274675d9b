"""`/metrics`: the control plane's Prometheus endpoint, open like the health probes (scrapers
carry no session); it exposes counts and durations, nothing from any spec."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from topology_editor.reconcile_metrics import ReconcileCollector


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReconcileCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
