"""The metrics collector's memory: the last hour of each deployment's payloads, in Redis.

A metrics page used to open empty and fill only as payloads arrived. The collector now keeps a
compact copy of each payload (:func:`compact`: rates, lag, pods per entity and the reconcile
summary, not the status or the raw counters) in a Redis list per deployment, oldest first, cut
to :func:`capacity` entries (:data:`HISTORY_SECONDS` at the collection interval, never more
than :data:`MAX_SAMPLES`). A sample larger than :data:`MAX_SAMPLE_BYTES` is not kept, so the
memory of one deployment is bounded by ``MAX_SAMPLES x MAX_SAMPLE_BYTES`` whatever its size.
The list expires with the deployment's collections. The collector lives in ``jobs`` (above the
editor in the layers), so it writes here; the metrics page reads.
"""

from __future__ import annotations

import json
import math
import time
from functools import cache
from typing import Any

import redis
from django.conf import settings

HISTORY_SECONDS = 3600
#: At most one sample a second is kept for an hour, whatever the interval is set to.
MAX_SAMPLES = 3600
#: A payload of 20 pods compacts to about 4 KB; one of 300 pods to about 60 KB.
MAX_SAMPLE_BYTES = 256 * 1024
#: The most one history read returns (the newest samples of the range that fit).
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
READ_CHUNK = 256
#: The pod fields the charts draw; the rest of a pod sample (counters, reasons) is live-only.
POD_FIELDS = ("name", "entity", "recordsInPerSec", "recordsOutPerSec", "bytesInPerSec", "bytesOutPerSec")


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _key(deployment: str) -> str:
    return f"invoker:metrics-history:{deployment}"


def capacity(interval_seconds: float | None = None) -> int:
    """Samples kept: an hour at the collection interval, at most :data:`MAX_SAMPLES`."""
    interval = interval_seconds or float(settings.INVOKER_METRICS_INTERVAL_SECONDS)
    return max(1, min(MAX_SAMPLES, math.ceil(HISTORY_SECONDS / max(interval, 1e-3))))


def compact(payload: dict[str, Any]) -> dict[str, Any]:
    """What the charts draw of one payload: the same shape, fewer fields."""
    status = payload.get("status") or {}
    last = status.get("lastReconcile") or {}
    return {
        "deployment": payload["deployment"],
        "time": payload["time"],
        "entities": payload.get("entities", {}),
        "pods": [{k: p[k] for k in POD_FIELDS if k in p} for p in payload.get("pods", [])],
        "lag": payload.get("lag", {}),
        "reconciles": payload.get("reconciles"),
        "status": {
            "reconcileCount": status.get("reconcileCount"),
            "lastReconcile": {"durationMs": last.get("durationMs")},
        },
    }


def append(payload: dict[str, Any]) -> bool:
    """Keeps one payload (compacted) at the end of its deployment's history; False when it is
    larger than :data:`MAX_SAMPLE_BYTES` and so not kept."""
    raw = json.dumps(compact(payload), separators=(",", ":"))
    if len(raw) > MAX_SAMPLE_BYTES:
        return False
    key = _key(payload["deployment"])
    pipe = _redis().pipeline()
    pipe.rpush(key, raw)
    pipe.ltrim(key, -capacity(), -1)
    pipe.expire(key, 2 * HISTORY_SECONDS)
    pipe.execute()
    return True


def read(deployment: str, seconds: float = HISTORY_SECONDS, now: float | None = None) -> list[dict[str, Any]]:
    """The kept samples of the last ``seconds`` (at most :data:`HISTORY_SECONDS`), oldest first."""
    return [json.loads(raw) for raw in read_raw(deployment, seconds, now)]


def read_raw(deployment: str, seconds: float = HISTORY_SECONDS, now: float | None = None) -> list[bytes]:
    """:func:`read`'s samples as the JSON text they are kept as, for a response that passes them
    on without parsing them. Samples are kept in time order, so the first one inside the range is
    found by bisection in Redis (about a dozen LINDEX calls); then only the range is fetched, newest
    first in chunks, up to :data:`MAX_RESPONSE_BYTES` (an hour of a very large deployment keeps its
    newest part: the web process never holds more than that for one request)."""
    since = (now if now is not None else time.time()) - min(seconds, HISTORY_SECONDS)
    client, key = _redis(), _key(deployment)
    low, high = 0, client.llen(key)
    end = high
    while low < high:
        middle = (low + high) // 2
        raw = client.lindex(key, middle)
        if raw is not None and json.loads(raw).get("time", 0) >= since:
            high = middle
        else:
            low = middle + 1
    return _newest_within_budget(client, key, low, end)


def _newest_within_budget(client: redis.Redis, key: str, first: int, end: int) -> list[bytes]:
    chunks: list[list[bytes]] = []
    budget, stop = MAX_RESPONSE_BYTES, end
    while stop > first and budget > 0:
        start = max(first, stop - READ_CHUNK)
        chunk = client.lrange(key, start, stop - 1)
        kept = []
        for raw in reversed(chunk):
            budget -= len(raw)
            if budget < 0:
                break
            kept.append(raw)
        chunks.append(kept[::-1])
        stop = start
    return [raw for chunk in reversed(chunks) for raw in chunk]


def size(deployment: str) -> int:
    """How many samples are kept for ``deployment`` (tests and the benchmark)."""
    return int(_redis().llen(_key(deployment)))


def clear(deployment: str) -> None:
    """Forgets a deployment's history (jobs.cleanup, when it is deleted; tests)."""
    _redis().delete(_key(deployment))
