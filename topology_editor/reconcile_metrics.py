"""Reconcile metrics in Prometheus text format, computed from the reconcile-run rows.

Every worker process records its passes as rows, so the numbers are the same whichever
process serves the scrape and however many workers there are: no per-process registry to
merge, no multiprocess directory to keep clean. It lives beside the models it reads (the
editor's ``ReconcileRun``), so the web's ``/metrics`` view reads it from the editor's layer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from topology_editor.models import ReconcileRun

#: Reconcile durations in seconds: a no-op pass is a few ms, a large rollout a few seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ReconcileCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        rows = list(_aggregates())
        yield _counter("invoker_reconciles", "Reconcile passes by result.", rows, "count", by_result=True)
        yield _counter(
            "invoker_reconcile_api_writes", "Kubernetes API writes made by reconciles.", rows, "writes"
        )
        yield _counter(
            "invoker_reconcile_api_calls", "Kubernetes API calls made by reconciles.", rows, "calls"
        )
        yield _counter("invoker_reconcile_errors", "Reconcile passes that ended in an error.", rows, "errors")
        yield _histogram(rows)


def _aggregates() -> Iterator[dict]:
    buckets = {f"le_{i}": Count("id", filter=Q(duration_ms__lte=b * 1000)) for i, b in enumerate(BUCKETS)}
    return (
        ReconcileRun.objects.exclude(result="running")
        .values("deployment__name", "result")
        .annotate(
            count=Count("id"),
            writes=Sum("api_writes"),
            calls=Sum("api_calls"),
            errors=Count("id", filter=Q(result="error")),
            seconds=Sum("duration_ms"),
            **buckets,
        )
        .order_by("deployment__name", "result")
    )


def _counter(name: str, help_text: str, rows: list[dict], field: str, by_result: bool = False) -> Metric:
    labels = ["deployment", "result"] if by_result else ["deployment"]
    family = CounterMetricFamily(name, help_text, labels=labels)
    totals: dict[tuple[str, ...], float] = {}
    for row in rows:
        key = (row["deployment__name"], row["result"]) if by_result else (row["deployment__name"],)
        totals[key] = totals.get(key, 0) + (row[field] or 0)
    for key, value in totals.items():
        family.add_metric(list(key), value)
    return family


def _histogram(rows: list[dict]) -> Metric:
    family = HistogramMetricFamily(
        "invoker_reconcile_duration_seconds", "Duration of reconcile passes.", labels=["deployment"]
    )
    per_deployment: dict[str, dict] = {}
    for row in rows:
        acc = per_deployment.setdefault(
            row["deployment__name"], {"count": 0, "seconds": 0, "le": [0] * len(BUCKETS)}
        )
        acc["count"] += row["count"]
        acc["seconds"] += (row["seconds"] or 0) / 1000
        acc["le"] = [a + row[f"le_{i}"] for i, a in enumerate(acc["le"])]
    for name, acc in per_deployment.items():
        buckets = [(str(b), acc["le"][i]) for i, b in enumerate(BUCKETS)] + [("+Inf", acc["count"])]
        family.add_metric([name], buckets, acc["seconds"])
    return family


#: The window of the dashboard's reconcile rate and duration percentiles.
RECENT_WINDOW_SECONDS = 300.0


def recent(
    deployment: str, window_seconds: float = RECENT_WINDOW_SECONDS, now: datetime | None = None
) -> dict:
    """Reconciles of ``deployment`` finished in the last ``window_seconds``, as the dashboard
    draws them: a rate (per minute) and duration percentiles, rather than the ever-growing
    count, which says nothing about whether the operator is busy now or slow now."""
    end = now or timezone.now()
    durations = sorted(
        ReconcileRun.objects.filter(
            deployment__name=deployment,
            finished_at__gt=end - timedelta(seconds=window_seconds),
            finished_at__lte=end,
            duration_ms__isnull=False,
        )
        .exclude(result="running")
        .values_list("duration_ms", flat=True)
    )
    return {
        "windowSeconds": window_seconds,
        "count": len(durations),
        "perMinute": len(durations) * 60.0 / window_seconds,
        "p50Ms": percentile(durations, 50),
        "p95Ms": percentile(durations, 95),
    }


def percentile(ordered: list[int], q: float) -> float | None:
    """The nearest-rank percentile of sorted values (a value that occurred); None when empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])
