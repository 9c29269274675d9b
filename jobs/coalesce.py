"""Bursts of saves become one reconcile, and one reconcile runs per deployment at a time.

A pending flag in Redis (set-if-absent) turns many requests into one queued task; the task
clears it before it starts work, so a save made during a pass queues exactly one more. The
per-deployment lock is a Redis lock with a timeout, so a worker that dies holding it (kill -9,
a lost node) blocks nobody for longer than the timeout.
"""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings

PENDING_TTL_SECONDS = 300
LOCK_TIMEOUT_SECONDS = 120


@cache
def redis_client() -> redis.Redis:
    """The control plane's Redis (one connection pool per process)."""
    return redis.Redis.from_url(settings.REDIS_URL)


def mark_pending(name: str) -> bool:
    """True when this request is the first since the last pass started (so it must enqueue)."""
    return bool(redis_client().set(f"invoker:reconcile:pending:{name}", 1, nx=True, ex=PENDING_TTL_SECONDS))


def clear_pending(name: str) -> None:
    redis_client().delete(f"invoker:reconcile:pending:{name}")


def deployment_lock(name: str) -> redis.lock.Lock:
    return redis_client().lock(f"invoker:reconcile:lock:{name}", timeout=LOCK_TIMEOUT_SECONDS, blocking=False)
