"""Uvicorn's websocket protocol with cheaper compression (issue 18 item 6).

Browsers offer permessage-deflate, and every socket compresses its own copy of each collector
frame (its compression context is its own). Profiled at 1,000 dashboards on one deployment
(py-spy on the web process, benchmarks/ws_fanout.py), zlib at its default level 6 took half of
the web process's CPU. Level 1 compresses a ~5 KB metrics frame about three times faster
(~32 against ~99 µs here) into output ~10% larger, with the same window and memory settings as
Uvicorn's own (12-bit windows, ``memLevel`` 5).

Every server of the app runs it: ``uvicorn --ws invoker_web.websocket_protocol:WebSocketProtocol``
(``scripts/dev/app.sh``, the image's command, the chart, the tests' and benchmarks' servers).
"""

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.server import ServerProtocol

#: The zlib level frames are compressed at (1: fastest; zlib's default is 6).
COMPRESSION_LEVEL = 1
#: Uvicorn's own choices: 4 KB windows and a small compressor per socket.
WINDOW_BITS = 12
MEM_LEVEL = 5

#: The value `uvicorn --ws` takes to run this protocol.
UVICORN_WS = f"{__name__}:WebSocketProtocol"


def deflate_factory() -> ServerPerMessageDeflateFactory:
    """The permessage-deflate offer every socket of this server negotiates."""
    return ServerPerMessageDeflateFactory(
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
