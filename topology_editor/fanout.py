"""One collector frame, many sockets (issue 18 item 6): what the metrics consumers share.

channels_redis hands one group message to every socket of this process as the same dict, so
the work each socket would repeat for it is done once here: the frame is encoded to JSON once,
and the session of each signed-in user is read once per frame (every tab of that user waits on
the same read), not once per socket. The session is still read afresh for every frame, so a
user who signs out is cut off at the next frame, as before.

Most sockets never see the frame as a message at all: :func:`deliver_metrics`, the channel
layer's shortcut for ``metrics.update`` (:mod:`invoker_web.channel_layer`), takes the idle
sockets of a frame together, reads each of their users' sessions once, and writes the frame to
each socket directly (the server's :data:`SEND_NOW`) in one pass, with no task woken per
socket. A socket it cannot write that way (refused, closing, paused by a slow client, or a
server without the extension) gets the frame as a message, the usual way, which also closes
the refused ones with their code.
"""

import asyncio
import json
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

#: RFC 6455 close codes for the channel layer losing Redis: the page reconnects after either.
CLOSE_SERVICE_RESTART = 1012  # Redis went away under an open socket
CLOSE_TRY_AGAIN_LATER = 1013  # Redis is not reachable while the socket connects

#: The ASGI scope extension whose ``send_text`` writes one text message at once, or returns
#: False (invoker_web/websocket_protocol.py).
SEND_NOW = "invoker.send_now"

#: Frames kept (one per deployment at a time, in practice); an old one is only ever re-encoded.
FRAMES_KEPT = 64


class Frame:
    """One payload as the sockets of this process forward it."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.text = json.dumps({"type": "metrics", "payload": payload})
        self.data = self.text.encode()
        self._checks: dict[str, asyncio.Future[int | None]] = {}

    async def refusal(self, session_key: str, check: Callable[[], Awaitable[int | None]]) -> int | None:
        """``check()``'s answer for this session and frame, run by the first socket that asks."""
        future = self._checks.get(session_key)
        if future is None:
            future = self._checks[session_key] = asyncio.ensure_future(check())
        # Shielded: one socket closing while it waits must not cancel the read the others await.
        return await asyncio.shield(future)


_frames: OrderedDict[int, Frame] = OrderedDict()


def frame_of(payload: dict[str, Any]) -> Frame:
    """The shared :class:`Frame` of ``payload`` (the very object every socket was handed)."""
    frame = _frames.get(id(payload))
    if frame is None or frame.payload is not payload:  # the cache holds the payload: ids stay unique
        frame = _frames[id(payload)] = Frame(payload)
        while len(_frames) > FRAMES_KEPT:
            _frames.popitem(last=False)
    return frame


class DirectSocket(Protocol):
    """What :func:`deliver_metrics` needs of a metrics consumer."""

    session_key: str

    async def session_refusal(self) -> int | None: ...

    def send_now(self, data: bytes) -> bool: ...


#: This process's metrics sockets that can be written directly, by channel name.
_direct: weakref.WeakValueDictionary[str, DirectSocket] = weakref.WeakValueDictionary()


def register(channel: str, socket: DirectSocket) -> None:
    """Lets :func:`deliver_metrics` write ``channel``'s frames to ``socket`` directly."""
    _direct[channel] = socket


def unregister(channel: str) -> None:
    _direct.pop(channel, None)


async def deliver_metrics(channels: list[str], message: dict[str, Any]) -> list[str]:
    """Writes one ``metrics.update`` frame to every idle socket it can; returns the channels left."""
    frame = frame_of(message["payload"])
    sockets = [(channel, _direct.get(channel)) for channel in channels]
    checks: dict[str, Awaitable[int | None]] = {}
    for _, socket in sockets:
        if socket is not None and socket.session_key not in checks:
            checks[socket.session_key] = frame.refusal(socket.session_key, socket.session_refusal)
    answers = await asyncio.gather(*checks.values(), return_exceptions=True)
    allowed = {key for key, answer in zip(checks, answers, strict=True) if answer is None}
    # Refused, or the read failed: the socket's own handler closes it, or raises, as it would have.
    return [
        channel
        for channel, socket in sockets
        if socket is None or socket.session_key not in allowed or not socket.send_now(frame.data)
    ]
