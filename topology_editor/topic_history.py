"""The topics page's memory: the last minutes of a deployment's broker reads, so the page opens
with each partition's lag trend and records/s already drawn, and a reload keeps them.

The page used to keep its samples in the browser only, so every visit started flat. Now every
fresh broker read of the table (``invoker_web.topics.shared_table``) offers a sample to
:func:`record`: per partition of each topic, its end offset and (input topics) its lag. At most
one sample per :data:`SAMPLE_EVERY_SECONDS` is kept per deployment, across every web process
(a ``SET NX`` marker decides), in a Redis list cut to :data:`MAX_SAMPLES` that expires
:data:`WINDOW_SECONDS` after its last sample; :func:`recent` serves only that window. Samples
exist while someone has the page open: the table is read from the broker for a reader, never on
a schedule, so an unwatched deployment costs the broker nothing.
"""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

import redis
from django.conf import settings

#: At most one kept sample per deployment this often (the page reads every 5 s at most).
SAMPLE_EVERY_SECONDS = 5.0
#: How far back a page opening sees.
WINDOW_SECONDS = 15 * 60
#: The window at one sample per SAMPLE_EVERY_SECONDS: the memory of a deployment is bounded.
MAX_SAMPLES = int(WINDOW_SECONDS / SAMPLE_EVERY_SECONDS)

#: One sample: {"time": seconds, "partitions": {"topic/partition": [end, lag or None]}}.
Sample = dict[str, Any]


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _key(deployment: str) -> str:
    return f"invoker:topic-history:{deployment}"


def sample(table: dict[str, Any]) -> Sample:
    """The part of a table read that the trend needs: end and lag of every partition read."""
    partitions = {
        f"{topic['topic']}/{row['partition']}": [row["end"], row["lag"]]
        for topic in table["topics"]
        for row in topic["rows"]
    }
    return {"time": table["time"], "partitions": partitions}


def record(table: dict[str, Any]) -> bool:
    """Keeps the read if no web process kept one of this deployment in the last
    :data:`SAMPLE_EVERY_SECONDS`; returns whether it did. A read without any partition (the
    broker did not answer) is not kept: it would draw a gap as a fall to zero."""
    kept = sample(table)
    if not kept["partitions"]:
        return False
    key = _key(table["deployment"])
    client = _redis()
    if not client.set(f"{key}:marker", 1, nx=True, px=int(SAMPLE_EVERY_SECONDS * 1000)):
        return False
    pipe = client.pipeline()
    pipe.rpush(key, json.dumps(kept, separators=(",", ":")))
    pipe.ltrim(key, -MAX_SAMPLES, -1)
    pipe.expire(key, WINDOW_SECONDS)
    pipe.execute()
    return True


def recent(deployment: str, before: float | None = None) -> list[Sample]:
    """The kept samples of the last :data:`WINDOW_SECONDS`, oldest first, all taken before
    ``before`` (the read being served, so it is not drawn twice)."""
    now = time.time()
    newest = before if before is not None else now
    samples = [json.loads(raw) for raw in _redis().lrange(_key(deployment), 0, -1)]
    return [s for s in samples if now - WINDOW_SECONDS <= s["time"] < newest]


def clear(deployment: str) -> None:
    """Forgets a deployment's samples: one created again under the name starts afresh."""
    _redis().delete(_key(deployment), f"{_key(deployment)}:marker")
