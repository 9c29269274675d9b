"""The web server's websocket protocol compresses frames at zlib level 1, each message on its own,
once per process for a frame sent to many sockets, and lets the application write a message at
once (issue 18 item 6).

No server: the protocol's own state machine is fed a browser's handshake (offering
permessage-deflate, as Chromium does) and asked to send two metrics frames; what it would write
to the socket is compared with zlib's output at each level. The direct write is checked over a
real socket pair, read by websockets' own client protocol.
"""

import asyncio
import json
import socket
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode
from websockets.uri import parse_uri

from invoker_web import websocket_protocol
from invoker_web.websocket_protocol import (
    MEM_LEVEL,
    SHARED_ENTRIES,
    SHARED_MIN_BYTES,
    WINDOW_BITS,
    WebSocketProtocol,
    shared_deflate,
)
from tests.loops import run_loop
from topology_editor.fanout import SEND_NOW

HANDSHAKE = (
    b"GET /ws/deployments/demo/metrics/ HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
)

#: Two collector-shaped frames: the second is compressed against the first (context takeover).
FRAMES = [
    json.dumps(
        {"type": "metrics", "payload": {"pods": [{"pod": f"p-{i}", "rate": i * 7.25 + n} for i in range(40)]}}
    ).encode()
    for n in (1, 2)
]


async def _app(scope: dict, receive: object, send: object) -> None:
    """Never called: the test drives the connection's state machine only."""


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _protocol(loop: asyncio.AbstractEventLoop, per_message_deflate: bool = True) -> WebSocketProtocol:
    config = Config(app=_app, ws_per_message_deflate=per_message_deflate)
    config.load()
    return WebSocketProtocol(config, ServerState(), {}, _loop=loop)


def _deflated(level: int) -> list[bytes]:
    """What permessage-deflate without server context takeover puts on the wire for FRAMES at
    ``level``: each from a fresh compressor (RFC 7692: the sync flush's empty block dropped)."""
    out = []
    for frame in FRAMES:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -WINDOW_BITS, MEM_LEVEL)
        out.append((compressor.compress(frame) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4])
    return out


def _handshake(protocol: WebSocketProtocol) -> bytes:
    """The server's answer to the browser's handshake, as written to the socket."""
    conn = protocol.conn
    conn.receive_data(HANDSHAKE)
    request = conn.events_received()[0]
    conn.send_response(conn.accept(request))
    return b"".join(conn.data_to_send())


def _sent_payloads(protocol: WebSocketProtocol) -> list[bytes]:
    conn = protocol.conn
    _handshake(protocol)
    sent = []
    for payload in FRAMES:
        conn.send_text(payload)
        sent.append(b"".join(conn.data_to_send()))
    return sent


def test_frames_are_deflated_at_level_one_with_uvicorns_window_and_memory(loop) -> None:
    protocol = _protocol(loop)
    sent = _sent_payloads(protocol)
    assert [extension.name for extension in protocol.conn.extensions] == ["permessage-deflate"]
    level_one, level_six = _deflated(1), _deflated(6)
    assert level_one != level_six, "the sample frames do not tell the levels apart"
    # A server frame of under 126 bytes has a 2-byte header, else 4 (no mask): the payload follows.
    payloads = [wire[4:] if len(wire) - 2 > 125 else wire[2:] for wire in sent]
    assert payloads == level_one


def test_compression_can_still_be_turned_off(loop) -> None:
    sent = _sent_payloads(_protocol(loop, per_message_deflate=False))
    assert [wire[4:] for wire in sent] == FRAMES


@pytest.mark.parametrize("level", [1, 6])
def test_level_one_output_is_what_a_browser_inflates(level: int) -> None:
    """The bytes compared above are real deflate: a client's decompressor reads them back, each
    message with a fresh one, as it must once the server said ``server_no_context_takeover``."""
    tail = b"\x00\x00\xff\xff"
    inflated = [zlib.decompressobj(-WINDOW_BITS).decompress(p + tail) for p in _deflated(level)]
    assert inflated == FRAMES


def test_the_server_answers_without_context_takeover(loop) -> None:
    answer = _handshake(_protocol(loop)).decode()
    lines = answer.split("\r\n")
    extensions = next(line for line in lines if line.lower().startswith("sec-websocket-extensions"))
    assert "permessage-deflate" in extensions
    assert "server_no_context_takeover" in extensions


def test_every_socket_sends_the_same_bytes_compressed_once_per_process(loop) -> None:
    first, second = _sent_payloads(_protocol(loop)), _sent_payloads(_protocol(loop))
    assert first == second
    # Equal payloads (distinct objects, as each socket encodes its own) share one compression.
    payload = FRAMES[0]
    assert shared_deflate(bytes(bytearray(payload)), WINDOW_BITS) is shared_deflate(
        bytes(bytearray(payload)), WINDOW_BITS
    )
    # A short message is compressed per socket and kept nowhere.
    assert len(b"{}") < SHARED_MIN_BYTES
    assert shared_deflate(b"{}", WINDOW_BITS) is not shared_deflate(b"{}", WINDOW_BITS)


def test_the_shared_compressions_kept_are_bounded() -> None:
    for n in range(3 * SHARED_ENTRIES):
        shared_deflate(FRAMES[0] + str(n).encode(), WINDOW_BITS)
    assert len(websocket_protocol._compressed) == SHARED_ENTRIES


def test_the_application_can_write_a_message_at_once_over_a_real_socket() -> None:
    """``send_text_now`` (the scope's SEND_NOW extension) puts on the wire what the ASGI send
    would, and refuses, writing nothing, whenever that send would not simply write."""

    async def scenario() -> list[object]:
        loop = asyncio.get_running_loop()
        accepted: asyncio.Future[tuple[dict, object]] = loop.create_future()

        async def app(scope: dict, receive: Any, send: Any) -> None:
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            accepted.set_result((scope, send))
            while (await receive())["type"] != "websocket.disconnect":
                pass

        config = Config(app=app)
        config.load()
        protocol = WebSocketProtocol(config, ServerState(), {}, _loop=loop)
        server_end, client_end = socket.socketpair()
        client_end.setblocking(False)
        await loop.connect_accepted_socket(lambda: protocol, sock=server_end)
        client = ClientProtocol(
            parse_uri("ws://127.0.0.1/ws/x/"), extensions=[ClientPerMessageDeflateFactory()]
        )
        client.send_request(client.connect())
        await loop.sock_sendall(client_end, b"".join(client.data_to_send()))
        scope, send = await asyncio.wait_for(accepted, 10)
        send_text = scope["extensions"][SEND_NOW]["send_text"]
        outcomes: list[object] = [send_text(FRAMES[0])]
        await send({"type": "websocket.send", "text": FRAMES[1].decode()})
        protocol.pause_writing()  # the client reads too slowly: the ASGI send would wait
        outcomes.append(send_text(FRAMES[1]))
        protocol.resume_writing()
        outcomes.append(send_text(FRAMES[1]))
        await send({"type": "websocket.close", "code": 4401})
        outcomes.append(send_text(FRAMES[0]))  # closing: nothing more goes out
        frames: list[WsFrame] = []
        while len(frames) < 4:
            client.receive_data(await asyncio.wait_for(loop.sock_recv(client_end, 65536), 10))
            frames.extend(e for e in client.events_received() if isinstance(e, WsFrame))
        client_end.close()
        protocol.transport.close()
        return [*outcomes, *frames]

    first, paused, resumed, closing, *frames = run_loop(scenario())  # Playwright may run a loop here
    assert (first, paused, resumed, closing) == (True, False, True, False)
    # What the client read, inflated: the direct write, the ASGI send, the direct write, the close.
    assert [f.opcode for f in frames[:3]] == [Opcode.TEXT] * 3
    assert [f.data for f in frames[:3]] == [FRAMES[0], FRAMES[1], FRAMES[1]]
    assert (frames[3].opcode, frames[3].data[:2]) == (Opcode.CLOSE, (4401).to_bytes(2, "big"))
