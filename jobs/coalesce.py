"""Leading-edge coalescing of reconcile requests, and one pass per deployment at a time.

A lone request queues its reconcile at once: no debounce sits on the click path. Requests that
arrive while a pass is queued or running fold into **one** trailing pass, which the task that
holds the deployment runs as soon as its pass ends, without going back through the queue.

Three Redis keys per deployment, changed only by the Lua scripts below (so every decision
sees one consistent state):

- ``pending``: requests not yet served by a started pass (a counter);
- ``running``: the token of the task running passes, with a timeout, so a worker killed
  while holding it (kill -9, a lost node) blocks nobody for longer than that;
- ``passes``: how many passes have started; a task that found the deployment busy retries
  with the number it saw, and stops if a pass started since then (it was served by it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

#: Outlives the longest back-off (60 s), so a request during an outage folds into the retry.
PENDING_TTL_SECONDS = 120
LOCK_TIMEOUT_SECONDS = 120
PREFIX = "invoker:reconcile"

# KEYS: pending, running. ARGV: pending ttl. → 1 when the caller must queue a task.
_REQUEST = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
if n == 1 and redis.call('EXISTS', KEYS[2]) == 0 then return 1 end
return 0
"""

# KEYS: pending, running, passes. ARGV: token, lock ttl, pending ttl, passes seen before ('' if none).
# → {1, requests served} started; {0, passes} busy (the holder will run once more);
#   {2, passes} a pass started since this task last looked: it is served, nothing to do.
_BEGIN = """
local passes = tonumber(redis.call('GET', KEYS[3]) or '0')
if ARGV[4] ~= '' and passes > tonumber(ARGV[4]) then return {2, passes} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2]) then
  local n = tonumber(redis.call('GET', KEYS[1]) or '0')
  redis.call('DEL', KEYS[1])
  redis.call('INCR', KEYS[3])
  return {1, n}
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {0, passes}
"""

# KEYS: pending, running, passes. ARGV: token, lock ttl.
# → n > 0: n requests arrived during the pass, run one more (the lock is kept);
#   0: done, the lock is released; -1: the lock was lost (it timed out).
_FINISH = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
  redis.call('DEL', KEYS[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  redis.call('INCR', KEYS[3])
  return n
end
redis.call('DEL', KEYS[2])
return 0
"""

# KEYS: pending, running. ARGV: token, pending ttl, '1' to leave a request behind.
_RELEASE = """
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if ARGV[3] == '1' then
  redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


@cache
def redis_client() -> redis.Redis:
    """The control plane's Redis (one connection pool per process)."""
    return redis.Redis.from_url(settings.REDIS_URL)


@cache
def _script(source: str) -> redis.commands.core.Script:
    return redis_client().register_script(source)


def keys(name: str) -> list[str]:
    return [f"{PREFIX}:{part}:{name}" for part in ("pending", "running", "passes")]


def request(name: str) -> bool:
    """Records a request; True when no pass is queued or running, so the caller must queue one."""
    pending, running, _ = keys(name)
    return bool(_script(_REQUEST)(keys=[pending, running], args=[PENDING_TTL_SECONDS]))


@dataclass(frozen=True)
class Begun:
    """What :func:`begin` found: ``started`` (this task holds the deployment), ``busy`` (another
    task does, and will run once more for this one) or ``served`` (a pass started since)."""

    state: str
    count: int

    @property
    def started(self) -> bool:
        return self.state == "started"


def begin(name: str, token: str, passes_seen: int | None = None) -> Begun:
    result = _script(_BEGIN)(
        keys=keys(name),
        args=[token, LOCK_TIMEOUT_SECONDS, PENDING_TTL_SECONDS, "" if passes_seen is None else passes_seen],
    )
    state, count = int(result[0]), int(result[1])
    return Begun({1: "started", 0: "busy", 2: "served"}[state], count)


def finish(name: str, token: str) -> int:
    """After a pass: how many requests arrived meanwhile (then the caller runs one more pass and
    still holds the deployment); 0 when it released it; -1 when it had lost it."""
    return int(_script(_FINISH)(keys=keys(name), args=[token, LOCK_TIMEOUT_SECONDS]))


def release(name: str, token: str, again: bool = False) -> None:
    """Lets go of the deployment; ``again`` leaves a request behind for the task that will retry,
    so requests made before that retry fold into it instead of queuing another task."""
    pending, running, _ = keys(name)
    _script(_RELEASE)(keys=[pending, running], args=[token, PENDING_TTL_SECONDS, "1" if again else "0"])


def is_running(name: str) -> bool:
    return bool(redis_client().exists(keys(name)[1]))


def clear(name: str) -> None:
    """Forgets every request and lock of ``name`` (tests, and a deleted deployment)."""
    redis_client().delete(*keys(name))
