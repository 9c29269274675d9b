"""Each input partition's measured rate, the input of a load-aware rebalance.

The metrics collector scrapes every pod's per-partition counters (records and bytes consumed)
and lag, and :func:`record` keeps the per-entity sums of each collection in Redis: a list per
deployment, newest first, cut to :data:`MAX_SAMPLES` and expiring with the deployment's
collections, so the memory is bounded by ``MAX_SAMPLES x partitions``. :func:`rates` turns the
newest and the oldest sample inside a window into records/s and bytes/s per partition.

Counters are summed over the pods of an entity: after a partition moves, the old owner keeps
its count and the new one starts from zero, so the sum only grows. A pod that restarts resets
its counters; a negative difference is then read as no rate for that window (never negative).
A partition first seen inside the window counts from zero (its counter was just created).
The collector lives in ``jobs`` (above the editor in the layers), so it writes here; the
editor only reads.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import redis
from django.conf import settings

from orchestrator.planning.load_rebalance import PartitionRate

#: Samples kept per deployment: at the collector's 5 s interval, a little over a minute.
MAX_SAMPLES = 13
DEFAULT_WINDOW_SECONDS = 60.0
EXPIRE_SECONDS = 600

#: One collection: {entity: {partition: [records_in, bytes_in, lag]}}.
Counters = dict[str, dict[str, list[float]]]


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _key(deployment: str) -> str:
    return f"invoker:partition-rates:{deployment}"


def record(deployment: str, counters: Counters, now: float) -> None:
    """Adds one collection's per-partition counters (summed over the entity's pods)."""
    key = _key(deployment)
    pipe = _redis().pipeline()
    pipe.lpush(key, json.dumps({"time": now, "entities": counters}))
    pipe.ltrim(key, 0, MAX_SAMPLES - 1)
    pipe.expire(key, EXPIRE_SECONDS)
    pipe.execute()


def rates(deployment: str, window: float = DEFAULT_WINDOW_SECONDS) -> dict[str, dict[int, PartitionRate]]:
    """Records/s and bytes/s per partition between the newest sample and the oldest one at
    most ``window`` seconds before it, with the newest lag. Empty until two samples exist."""
    samples = [json.loads(raw) for raw in _redis().lrange(_key(deployment), 0, MAX_SAMPLES - 1)]
    if len(samples) < 2:
        return {}
    newest = samples[0]
    inside = [s for s in samples[1:] if newest["time"] - s["time"] <= window]
    if not inside:
        return {}
    return _between(inside[-1], newest)


def history(deployment: str) -> list[dict[str, Any]]:
    """The kept collections, oldest first: ``{"time": ..., "entities": Counters}`` (the
    autoscaler reads the lag's course from them)."""
    return [json.loads(raw) for raw in reversed(_redis().lrange(_key(deployment), 0, MAX_SAMPLES - 1))]


def _between(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[int, PartitionRate]]:
    elapsed = new["time"] - old["time"]
    result: dict[str, dict[int, PartitionRate]] = {}
    for entity, partitions in new["entities"].items():
        before = old["entities"].get(entity, {})
        result[entity] = {}
        for partition, (records, size, lag) in partitions.items():
            was = before.get(partition, [0.0, 0.0, 0.0])  # a counter first seen starts from zero
            result[entity][int(partition)] = PartitionRate(
                records_per_sec=max(0.0, (records - was[0]) / elapsed) if elapsed > 0 else 0.0,
                bytes_per_sec=max(0.0, (size - was[1]) / elapsed) if elapsed > 0 else 0.0,
                lag=max(0.0, lag),
            )
    return result


def clear(deployment: str) -> None:
    """Forgets a deployment's samples (tests; a deleted deployment's expire on their own)."""
    _redis().delete(_key(deployment))
