"""/metrics: reconcile counts, durations and API writes per deployment, from the run rows."""

from datetime import timedelta

from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from topology_editor.models import ReconcileRun


def record(deployment, result: str, ms: int, writes: int) -> None:
    now = timezone.now()
    ReconcileRun.objects.create(
        deployment=deployment, revision="r", trigger="t", started_at=now - timedelta(milliseconds=ms),
        finished_at=now, duration_ms=ms, result=result, api_calls=writes + 4, api_writes=writes,
    )  # fmt: skip


def samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_metrics_count_passes_writes_errors_and_durations_per_deployment(client, deployment) -> None:
    record(deployment, "success", 40, 6)
    record(deployment, "noop", 3, 0)
    record(deployment, "error", 2000, 0)
    found = samples(client)
    name = ("deployment", deployment.name)
    assert found[("invoker_reconciles_total", (name, ("result", "success")))] == 1
    assert found[("invoker_reconciles_total", (name, ("result", "noop")))] == 1
    assert found[("invoker_reconcile_api_writes_total", (name,))] == 6
    assert found[("invoker_reconcile_errors_total", (name,))] == 1
    assert found[("invoker_reconcile_duration_seconds_count", (name,))] == 3
    assert found[("invoker_reconcile_duration_seconds_bucket", (name, ("le", "0.005")))] == 1
    assert found[("invoker_reconcile_duration_seconds_bucket", (name, ("le", "0.05")))] == 2
    assert found[("invoker_reconcile_duration_seconds_bucket", (name, ("le", "+Inf")))] == 3
    assert abs(found[("invoker_reconcile_duration_seconds_sum", (name,))] - 2.043) < 1e-6


def test_metrics_need_no_login_and_show_nothing_without_runs(client, db) -> None:
    assert samples(client) == {}
