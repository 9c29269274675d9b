"""The Redis channel layer with a pool that waits instead of failing (issue 18 item 6).

channels_redis builds a plain redis-py pool per event loop, capped at 100 connections, which
raises ``MaxConnectionsError: Too many connections`` the moment a 101st command needs one: 200
dashboards connecting at once while Redis stalls for a moment each hold one for their
``group_add``, and about half were answered HTTP 500. Here the pool is a
:class:`~redis.asyncio.BlockingConnectionPool`: a bounded number of connections (a Redis with
1,000 sockets' worth of clients helps nobody), and a command that finds them all busy waits its
turn for up to ``pool_timeout`` seconds.

After a Redis restart the pool's idle connections are stale, and the first command on each fails
(redis-py then drops it). Joining or leaving a group is idempotent, so those are tried again on
a fresh connection rather than failing the socket (reconnects were answered HTTP 500 until the
stale connections were used up). Receiving is not retried: a restarted Redis without persistence
has forgotten the groups, so the sockets must be closed and reconnect (topology_editor/consumers.py).
"""

from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_fixed

#: A stale connection fails once and is dropped; the next attempt connects afresh.
STALE_RETRY = {
    "retry": retry_if_exception_type(RedisConnectionError),
    "stop": stop_after_attempt(3),
    "wait": wait_fixed(0.05),
    "reraise": True,
}


class PooledRedisChannelLayer(RedisChannelLayer):
    """:class:`RedisChannelLayer` whose per-loop pools wait for a free connection.

    Each host is given as ``{"address": url, ...}``; the other keys go to the connection as
    channels_redis passes them (``socket_timeout`` and the like).
    """

    def __init__(
        self, *args: Any, max_connections: int = 50, pool_timeout: float = 20, **kwargs: Any
    ) -> None:
        if max_connections < 2:
            # One connection is held by the receive loop's blocking BZPOPMIN at all times.
            raise ValueError(f"max_connections must be at least 2, got {max_connections}")
        if pool_timeout <= 0:
            raise ValueError(f"pool_timeout must be positive, got {pool_timeout}")
        super().__init__(*args, **kwargs)
        self.max_connections = max_connections
        self.pool_timeout = pool_timeout

    def create_pool(self, index: int) -> BlockingConnectionPool:
        host = dict(self.hosts[index])
        if "address" not in host:
            raise ValueError(f"each channel layer host needs an 'address' (a redis:// URL), got {host}")
        address = host.pop("address")
        return BlockingConnectionPool.from_url(
            address, max_connections=self.max_connections, timeout=self.pool_timeout, **host
        )

    async def group_add(self, group: str, channel: str) -> None:
        async for attempt in AsyncRetrying(**STALE_RETRY):
            with attempt:
                await super().group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        async for attempt in AsyncRetrying(**STALE_RETRY):
            with attempt:
                await super().group_discard(group, channel)
