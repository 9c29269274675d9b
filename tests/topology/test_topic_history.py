"""The topics page's kept samples (topology_editor/topic_history.py) in the real Redis: one per
interval across web processes, bounded in count and in time, none for a read that saw nothing."""

from __future__ import annotations

import time
import uuid

import pytest

from topology_editor import topic_history


@pytest.fixture
def name(redis_url: str) -> str:
    deployment = f"th-{uuid.uuid4().hex[:8]}"
    yield deployment
    topic_history.clear(deployment)


def read(name: str, when: float, end: int, lag: int | None = 0) -> dict:
    """A table read as jobs.topics_view returns it, one topic with two partitions."""
    rows = [{"partition": p, "end": end + p, "lag": lag} for p in (0, 1)]
    return {"deployment": name, "time": when, "topics": [{"topic": "lines", "rows": rows}]}


def test_one_read_per_interval_is_kept_whatever_process_offers_it(name: str) -> None:
    now = time.time()
    assert topic_history.record(read(name, now - 2, 10, 3))
    assert not topic_history.record(read(name, now - 1, 11, 4)), "a second read inside the interval"
    assert topic_history.recent(name) == [
        {"time": now - 2, "partitions": {"lines/0": [10, 3], "lines/1": [11, 3]}}
    ]
    assert topic_history.recent(name, before=now - 2) == [], "the read being served is not its own history"


def test_the_samples_are_bounded_in_count_and_served_only_from_the_window(name: str, monkeypatch) -> None:
    monkeypatch.setattr(topic_history, "SAMPLE_EVERY_SECONDS", 0.001)
    monkeypatch.setattr(topic_history, "MAX_SAMPLES", 3)
    now = time.time()

    def keep(when: float, end: int) -> None:
        time.sleep(0.005)  # past the marker
        assert topic_history.record(read(name, when, end, None))

    keep(now - topic_history.WINDOW_SECONDS - 10, 0)
    keep(now - 4, 1)
    assert [s["time"] for s in topic_history.recent(name)] == [now - 4], "older than the window"
    for i, when in enumerate((now - 3, now - 2, now - 1), start=2):
        keep(when, i)
    assert topic_history._redis().llen(f"invoker:topic-history:{name}") == 3
    kept = topic_history.recent(name)
    assert [s["time"] for s in kept] == [now - 3, now - 2, now - 1]
    assert kept[-1]["partitions"]["lines/0"] == [4, None], "an output topic's partitions have no lag"


def test_a_read_that_reached_no_partition_is_not_kept(name: str) -> None:
    unread = {"deployment": name, "time": time.time(), "topics": [{"topic": "lines", "rows": []}]}
    assert not topic_history.record(unread)
    assert topic_history.recent(name) == []
    assert topic_history.record(read(name, time.time(), 1)), "nor did it take the interval's turn"
