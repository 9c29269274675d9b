"""Uvicorn's websocket protocol with cheaper compression (issue 18 item 6).

Browsers offer permessage-deflate, and every socket compresses its own copy of each collector
frame (its compression context is its own). Profiled at 1,000 dashboards on one deployment
(py-spy on the web process, benchmarks/ws_fanout.py), zlib at its default level 6 took half of
the web process's CPU. Level 1 compresses a ~5 KB metrics frame about three times faster
(~32 against ~99 µs here) into output ~10% larger, with the same window and memory settings as
Uvicorn's own (12-bit windows, ``memLevel`` 5).

Each socket still compressed its own copy of the same frame: at level 1 that was half of the
send path in a profile of 1,000 sockets (341 of 665 samples in ``PerMessageDeflate.encode``).
So the server asks for ``server_no_context_takeover`` (RFC 7692 §7.1.1.1, which every client must
accept): each message is compressed on its own, the same payload gives the same bytes on every
socket, and a frame going to many sockets is compressed once per process
(:class:`SharedDeflate`). The price is a lower ratio on a stream of similar frames, whose
previous frame no longer serves as the dictionary.

Past compression, most of what a frame cost per socket was asyncio's: a consumer task woken,
an ``asyncio.wait`` and a new receive task, then three layers of ``send`` for one
``transport.write``. So the protocol offers the application a synchronous send of one text
message (the ASGI scope extension :data:`SEND_NOW`), which the metrics fan-out calls for every
idle socket of a frame in one pass (:mod:`topology_editor.fanout`). It refuses, and the caller
takes the ordinary ASGI path, whenever that path would not simply write: a socket closing,
closed, or paused by flow control.

Every server of the app runs it: ``uvicorn --ws invoker_web.websocket_protocol:WebSocketProtocol``
(``scripts/dev/app.sh``, the image's command, the chart, the tests' and benchmarks' servers).
"""

import zlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
from websockets.frames import CTRL_OPCODES, Frame
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.typing import ExtensionParameter

from topology_editor.fanout import SEND_NOW

#: The zlib level frames are compressed at (1: fastest; zlib's default is 6).
COMPRESSION_LEVEL = 1
#: Uvicorn's own choices: 4 KB windows and a small compressor per socket.
WINDOW_BITS = 12
MEM_LEVEL = 5

#: Payloads this short are compressed per socket: caching them saves little, and the many
#: one-off messages (presence, errors) would push the shared frames out.
SHARED_MIN_BYTES = 512
#: How many compressed payloads a process keeps: a frame is sent to all its sockets within one
#: turn of the event loop or a few, so the last few frames are all that is ever asked for again.
SHARED_ENTRIES = 16

#: The value `uvicorn --ws` takes to run this protocol.
UVICORN_WS = f"{__name__}:WebSocketProtocol"

_compressed: OrderedDict[tuple[bytes, int], bytes] = OrderedDict()


def _deflate(payload: bytes, window_bits: int) -> bytes:
    """A whole message compressed from a fresh context, as RFC 7692 frames it (the sync flush's
    trailing empty block dropped)."""
    encoder = zlib.compressobj(wbits=-window_bits, level=COMPRESSION_LEVEL, memLevel=MEM_LEVEL)
    return (encoder.compress(payload) + encoder.flush(zlib.Z_SYNC_FLUSH))[:-4]


def shared_deflate(payload: bytes, window_bits: int) -> bytes:
    """:func:`_deflate`, computed once per process for a payload sent to many sockets."""
    if len(payload) < SHARED_MIN_BYTES:
        return _deflate(payload, window_bits)
    key = (payload, window_bits)
    found = _compressed.get(key)
    if found is None:
        found = _compressed[key] = _deflate(payload, window_bits)
        if len(_compressed) > SHARED_ENTRIES:
            _compressed.popitem(last=False)
    return found


class SharedDeflate(PerMessageDeflate):
    """permessage-deflate without server context takeover whose whole messages come from
    :func:`shared_deflate`; a message split into fragments is left to websockets."""

    def encode(self, frame: Frame) -> Frame:
        if frame.opcode in CTRL_OPCODES or not frame.fin or not self.local_no_context_takeover:
            return super().encode(frame)
        data = shared_deflate(bytes(frame.data), self.local_max_window_bits)
        return Frame(frame.opcode, data, frame.fin, True, frame.rsv2, frame.rsv3)


class SharedDeflateFactory(ServerPerMessageDeflateFactory):
    """Negotiates as websockets does, with ``server_no_context_takeover`` always in the answer,
    and hands the socket a :class:`SharedDeflate`."""

    def process_request_params(
        self, params: Sequence[ExtensionParameter], accepted_extensions: Sequence[Extension]
    ) -> tuple[list[ExtensionParameter], PerMessageDeflate]:
        response, negotiated = super().process_request_params(params, accepted_extensions)
        extension = SharedDeflate(
            negotiated.remote_no_context_takeover,
            negotiated.local_no_context_takeover,
            negotiated.remote_max_window_bits,
            negotiated.local_max_window_bits,
            negotiated.compress_settings,
        )
        return response, extension


def deflate_factory() -> ServerPerMessageDeflateFactory:
    """The permessage-deflate offer every socket of this server negotiates."""
    return SharedDeflateFactory(
        server_no_context_takeover=True,
        server_max_window_bits=WINDOW_BITS,
        client_max_window_bits=WINDOW_BITS,
        compress_settings={"level": COMPRESSION_LEVEL, "memLevel": MEM_LEVEL},
    )


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """Uvicorn's sans-I/O websocket protocol whose deflate runs at :data:`COMPRESSION_LEVEL`.

    Uvicorn builds the connection's state machine in ``__init__`` with its deflate settings
    hard-coded; it is built again here with ours before any byte is read, so nothing else of
    the protocol changes. ``--ws-per-message-deflate false`` still turns compression off.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:
            self.conn = ServerProtocol(
                extensions=[deflate_factory()], max_size=self.config.ws_max_size, logger=self.conn.logger
            )

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the handshake was refused
        if scope is not None:  # the application's task is created but has not run yet
            scope["extensions"][SEND_NOW] = {"send_text": self.send_text_now}

    def send_text_now(self, data: bytes) -> bool:
        """Writes one text message at once, as an ASGI ``websocket.send`` would; False (nothing
        sent) when that send would not simply write, so the caller sends it the ordinary way.

        Synchronous, so one task can hand a frame to a thousand sockets without a thousand task
        switches. ``data`` must be UTF-8.
        """
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()  # paused: the ordinary send waits for the client
            or self.transport.is_closing()
        ):
            return False
        try:
            self.conn.send_text(data)
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True
