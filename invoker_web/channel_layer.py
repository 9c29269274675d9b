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

Receiving on this process's channels goes through one reader per event loop
(:class:`LocalReceiver`). channels_redis has every waiting socket race for a lock with two new
tasks and an ``asyncio.wait`` on each receive, so one frame to 1,000 sockets made 2,000 tasks and
1,000 lock hand-overs; here the reader pops each message once and hands it to the waiting
sockets' futures (or their buffers), and a receive that finds its message waiting costs no task.

A message type can also have a *shortcut* (:meth:`PooledRedisChannelLayer.add_shortcut`): the
reader offers each such message to it with the channels whose sockets are idle (waiting, and not
yet handed a message), and the shortcut handles as many as it can in one pass (the metrics fan-out writes
each socket's frame directly, :mod:`topology_editor.fanout`); the channels it leaves are woken
as usual. Only idle sockets are offered, so no message overtakes one still queued for a socket.
"""

import asyncio
import logging
import weakref
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_fixed

#: Given a message and the idle channels it goes to, handles what it can; returns the channels left.
Shortcut = Callable[[list[str], dict[str, Any]], Awaitable[list[str]]]

log = logging.getLogger(__name__)

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
        self._receivers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LocalReceiver] = (
            weakref.WeakKeyDictionary()
        )
        self.max_connections = max_connections
        self.pool_timeout = pool_timeout
        self.shortcuts: dict[str, Shortcut] = {}

    def add_shortcut(self, message_type: str, shortcut: Shortcut) -> None:
        """Offers each ``message_type`` message for this process's idle sockets to ``shortcut``
        first (see the module's docstring); the same shortcut again is a no-op."""
        known = self.shortcuts.setdefault(message_type, shortcut)
        if known is not shortcut:
            raise ValueError(f"{message_type!r} already has a shortcut: {known!r}")

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

    async def flush(self) -> None:
        """Deletes every message and group, the ones read and waiting for a receive too."""
        for receiver in list(self._receivers.values()):
            receiver.buffers.clear()
        await super().flush()

    async def receive(self, channel: str) -> dict[str, Any]:
        """A process-local channel's next message, from the loop's :class:`LocalReceiver`."""
        if "!" not in channel:
            return await super().receive(channel)
        assert self.require_valid_channel_name(channel)
        loop = asyncio.get_running_loop()
        receiver = self._receivers.get(loop)
        if receiver is None:
            receiver = self._receivers[loop] = LocalReceiver(self, self.non_local_name(channel))
        return await receiver.receive(channel)


class LocalReceiver:
    """This process's channels on one event loop: one task reads, every socket just awaits.

    Messages for a channel nobody is waiting on are kept for its next receive (a consumer between
    two receives), as channels_redis does; a receive that is cancelled (the socket went) drops
    its channel's messages, and what arrives for it later (it stays in its groups until its
    consumer leaves them) is dropped too rather than kept for good. A message for a channel that
    has never had a receive is dropped alike: a consumer starts receiving before it joins a group.
    An error of the read (Redis lost) is raised in every waiting receive, so every socket closes
    and reconnects. The reader stops when the last receive is cancelled.
    """

    def __init__(self, layer: PooledRedisChannelLayer, real_channel: str) -> None:
        self.layer = layer
        self.real_channel = real_channel
        self.buffers: defaultdict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        #: Channels that have had a receive and no cancelled one: whose messages are kept.
        self.listening: set[str] = set()
        self.reader: asyncio.Task[None] | None = None

    async def receive(self, channel: str) -> dict[str, Any]:
        buffer = self.buffers.get(channel)
        if buffer:
            message = buffer.popleft()
            if not buffer:
                del self.buffers[channel]
            return message
        if channel in self.waiters:
            raise RuntimeError(f"two receives at once on {channel}")
        future = self.waiters[channel] = asyncio.get_running_loop().create_future()
        self.listening.add(channel)
        if self.reader is None or self.reader.done():
            self.reader = asyncio.ensure_future(self._read())
        try:
            return await future
        except asyncio.CancelledError:
            self.buffers.pop(channel, None)
            self.listening.discard(channel)
            if len(self.waiters) == 1 and self.reader is not None:
                # The last socket went. Nothing is lost: a message being read stays in Redis'
                # backup queue.
                self.reader.cancel()
                self.reader = None
            raise
        finally:
            del self.waiters[channel]

    async def _read(self) -> None:
        try:
            while self.waiters:
                target, message = await self.layer.receive_single(self.real_channel)
                channels = target if isinstance(target, list) else [target]
                shortcut = self.layer.shortcuts.get(message.get("type"))
                if shortcut is not None:
                    channels = await self._offer(shortcut, channels, message)
                for channel in channels:
                    self._deliver(channel, message)
        except Exception as exc:
            for future in self.waiters.values():
                if not future.done():
                    future.set_exception(exc)

    async def _offer(self, shortcut: Shortcut, channels: list[str], message: dict[str, Any]) -> list[str]:
        """The channels ``shortcut`` did not handle, of those ``message`` goes to."""
        # Waiting and not yet handed a message: nothing is queued for it that this could overtake.
        idle = [c for c in channels if (w := self.waiters.get(c)) is not None and not w.done()]
        if not idle:
            return channels
        try:
            left = set(await shortcut(idle, message))
        except Exception:  # its own bug: it must not cost the sockets their message
            log.exception("the %r shortcut failed; its sockets get it the usual way", message["type"])
            return channels
        handled = set(idle) - left
        return [c for c in channels if c not in handled]

    def _deliver(self, channel: str, message: dict[str, Any]) -> None:
        future = self.waiters.get(channel)
        if future is not None and not future.done():
            future.set_result(message)
        elif channel in self.listening:
            self.buffers[channel].append(message)
