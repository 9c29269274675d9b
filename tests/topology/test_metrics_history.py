"""Metrics with memory (issue 18 item 5): the collector's bounded history in the real Redis, the
endpoint the metrics page opens with, and reconciles as a rate and duration percentiles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jobs.collector import publish
from tests.browser.payloads import payload
from tests.loops import in_own_thread
from tests.topology.conftest import EXAMPLE_NAME
from topology_editor import metrics_history
from topology_editor.models import ReconcileRun
from topology_editor.reconcile_metrics import percentile, recent


@pytest.fixture
def history(redis_url: str, settings) -> str:
    settings.REDIS_URL = redis_url
    metrics_history._redis.cache_clear()
    metrics_history.clear(EXAMPLE_NAME)
    yield EXAMPLE_NAME
    metrics_history.clear(EXAMPLE_NAME)
    metrics_history._redis.cache_clear()


def test_capacity_is_an_hour_at_the_interval_and_never_more_than_the_cap() -> None:
    assert metrics_history.capacity(2.0) == 1800
    assert metrics_history.capacity(5.0) == 720
    assert metrics_history.capacity(0.01) == metrics_history.MAX_SAMPLES


def test_the_history_keeps_the_newest_samples_oldest_first_up_to_its_cap(history: str, settings) -> None:
    settings.INVOKER_METRICS_INTERVAL_SECONDS = 120.0  # an hour is 30 samples
    start = 1_000_000.0
    for tick in range(45):
        sample = payload(history, tick)
        sample["time"] = start + 120 * tick
        assert metrics_history.append(sample)
    assert metrics_history.size(history) == 30
    kept = metrics_history.read(history, 3600, now=start + 120 * 44)
    assert [s["time"] for s in kept] == [start + 120 * t for t in range(15, 45)]
    # A shorter range is the newest part of it.
    last_5_min = metrics_history.read(history, 300, now=start + 120 * 44)
    assert [s["time"] for s in last_5_min] == [start + 120 * t for t in (42, 43, 44)]
    # Bisection at the edges: a range that starts exactly at a sample keeps it; none left is [].
    assert [s["time"] for s in metrics_history.read(history, 240, now=start + 120 * 44)] == [
        start + 120 * t for t in (42, 43, 44)
    ]
    assert metrics_history.read(history, 60, now=start + 120 * 60) == []
    metrics_history.clear(history)
    assert metrics_history.read(history) == []


def test_a_read_returns_the_newest_samples_of_the_range_that_fit_its_byte_budget(
    history: str, settings, monkeypatch
) -> None:
    settings.INVOKER_METRICS_INTERVAL_SECONDS = 120.0
    for tick in range(30):
        sample = payload(history, tick)
        sample["time"] = 1_000_000.0 + 120 * tick
        assert metrics_history.append(sample)
    size = len(metrics_history.read_raw(history, 3600, now=1_000_000.0 + 120 * 29)[0])
    monkeypatch.setattr(metrics_history, "READ_CHUNK", 4)  # several chunks, newest first
    monkeypatch.setattr(metrics_history, "MAX_RESPONSE_BYTES", size * 10 + size // 2)
    kept = metrics_history.read(history, 3600, now=1_000_000.0 + 120 * 29)
    assert [s["time"] for s in kept] == [1_000_000.0 + 120 * t for t in range(20, 30)]


def test_a_sample_keeps_what_the_charts_draw_and_an_oversized_one_is_not_kept(history: str) -> None:
    sample = payload(history, 3)
    sample["pods"][0]["scrapeError"] = "x"
    kept = metrics_history.compact(sample)
    assert set(kept["pods"][0]) == set(metrics_history.POD_FIELDS)
    assert kept["lag"] == sample["lag"]
    huge = payload(history, 4)
    huge["pods"] = [{**huge["pods"][0], "name": f"p{i:06d}" + "x" * 60} for i in range(4000)]
    assert not metrics_history.append(huge)
    assert metrics_history.size(history) == 0


def test_publishing_a_payload_keeps_it_in_the_history(history: str) -> None:
    sample = payload(history, 1)
    # From a thread of its own, as the collector's worker does (tests/loops.py).
    in_own_thread(publish, sample, timeout=30)
    [kept] = metrics_history.read(history)
    assert kept["time"] == sample["time"]
    assert kept["pods"][2]["recordsInPerSec"] == sample["pods"][2]["recordsInPerSec"]


def signed_in(personas, name: str) -> Client:
    client = Client()
    client.force_login(personas[name])
    return client


def test_the_history_endpoint_serves_the_kept_samples_to_viewers(example, personas, history: str) -> None:
    for tick in range(3):
        metrics_history.append(payload(history, tick))
    body = signed_in(personas, "viewer").get(f"/deployments/{history}/metrics/history/?seconds=3600").json()
    assert body["samples"] == metrics_history.read(history)
    assert len(body["samples"]) == 3
    assert body["seconds"] == 3600
    assert body["ranges"] == [300, 900, 3600]
    assert signed_in(personas, "outsider").get(f"/deployments/{history}/metrics/history/").status_code == 403
    assert signed_in(personas, "viewer").get("/deployments/nothing/metrics/history/").status_code == 404


@pytest.mark.parametrize("seconds", ["0", "3601", "an-hour", "-5"])
def test_a_bad_range_is_a_400_naming_it(example, personas, history: str, seconds: str) -> None:
    response = signed_in(personas, "viewer").get(f"/deployments/{history}/metrics/history/?seconds={seconds}")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        f"seconds must be a whole number from 1 to 3600, not {seconds!r}"
    )


def test_reconciles_are_a_rate_and_duration_percentiles_of_the_recent_window(example) -> None:
    now = timezone.now()
    durations = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000]
    for i, ms in enumerate(durations):
        finished = now - timedelta(seconds=10 + i)
        ReconcileRun.objects.create(
            deployment=example, started_at=finished, finished_at=finished, duration_ms=ms, result="success"
        )
    old = now - timedelta(seconds=400)  # outside the 5-minute window
    ReconcileRun.objects.create(
        deployment=example, started_at=old, finished_at=old, duration_ms=5, result="success"
    )
    ReconcileRun.objects.create(deployment=example, started_at=now, result="running")
    summary = recent(example.name, 300, now=now)
    assert summary == {"windowSeconds": 300, "count": 10, "perMinute": 2.0, "p50Ms": 50.0, "p95Ms": 1000.0}
    assert recent("nothing", 300, now=now)["p50Ms"] is None


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([1, 2, 3, 4], 95) == 4
    assert percentile([7], 5) == 7
    assert percentile([], 50) is None
