"""One collector frame, many sockets (issue 18 item 6): what the metrics consumers share.

channels_redis hands one group message to every socket of this process as the same dict, so
the work each socket would repeat for it is done once here: the frame is encoded to JSON once,
and the session of each signed-in user is read once per frame (every tab of that user waits on
the same read), not once per socket. The session is still read afresh for every frame, so a
user who signs out is cut off at the next frame, as before.
"""

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

#: RFC 6455 close codes for the channel layer losing Redis: the page reconnects after either.
CLOSE_SERVICE_RESTART = 1012  # Redis went away under an open socket
CLOSE_TRY_AGAIN_LATER = 1013  # Redis is not reachable while the socket connects

#: Frames kept (one per deployment at a time, in practice); an old one is only ever re-encoded.
FRAMES_KEPT = 64


class Frame:
    """One payload as the sockets of this process forward it."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.text = json.dumps({"type": "metrics", "payload": payload})
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
