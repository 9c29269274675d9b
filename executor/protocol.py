"""The socket protocol between the three containers of a pod.

A message is a 4-byte big-endian length followed by a msgpack map; every request is answered by
exactly one response on the same connection, `{"ok": true, ...}` or `{"ok": false, "kind": ...,
"error": ...}`. Requests carry whole batches (all records of one poll, all state keys of one
batch), never single records: a round trip costs tens of microseconds, a record a microsecond.

msgpack rather than JSON because keys and values are bytes; rather than pickle because a
sidecar must not execute whatever the user's container sends it. Every request is idempotent,
so the client reconnects and re-sends after a peer restart instead of failing the batch.
"""

from __future__ import annotations

import logging
import os
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import tenacity

log = logging.getLogger(__name__)
HEADER = struct.Struct("!I")
MAX_FRAME = 512 * 1024 * 1024
Handler = Callable[[dict[str, Any]], dict[str, Any]]


class DisconnectedError(ConnectionError):
    """The peer is gone and did not come back before the deadline."""


class RemoteError(RuntimeError):
    """The peer answered with an error; `kind` names its exception class."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


def send_message(sock: socket.socket, message: dict[str, Any]) -> None:
    body = msgpack.packb(message, use_bin_type=True)
    sock.sendmsg([HEADER.pack(len(body)), body]) if len(body) < 65536 else _send_big(sock, body)


def _send_big(sock: socket.socket, body: bytes) -> None:
    sock.sendall(HEADER.pack(len(body)))
    sock.sendall(body)


def _recv_exactly(sock: socket.socket, size: int) -> memoryview:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise ConnectionResetError("peer closed the connection")
        got += n
    return view


def recv_message(sock: socket.socket) -> dict[str, Any]:
    (size,) = HEADER.unpack(_recv_exactly(sock, HEADER.size))
    if size > MAX_FRAME:
        raise ConnectionAbortedError(f"frame of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    message = msgpack.unpackb(_recv_exactly(sock, size), raw=False, strict_map_key=False)
    if not isinstance(message, dict):
        raise ConnectionAbortedError("a message must be a map")
    return message


class Client:
    """A blocking request/response connection to one peer, reconnecting on demand."""

    def __init__(self, path: Path, peer: str, patience: float = 30.0) -> None:
        self._path = path
        self._peer = peer
        self._patience = patience
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """Sends one request and returns the response; retries through peer restarts."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(OSError),
            wait=tenacity.wait_exponential(multiplier=0.02, max=1.0),
            stop=tenacity.stop_after_delay(self._patience),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            with self._lock:
                response = retrying(self._roundtrip, {"op": op, **fields})
        except OSError as exc:
            raise DisconnectedError(f"{self._peer} at {self._path}: {exc}") from exc
        if not response.get("ok"):
            raise RemoteError(str(response.get("kind", "Error")), str(response.get("error", "")))
        return response

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _roundtrip(self, request: dict[str, Any]) -> dict[str, Any]:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(self._path))
            except OSError:
                sock.close()
                raise
            self._sock = sock
        try:
            send_message(self._sock, request)
            return recv_message(self._sock)
        except OSError:
            self.close()
            raise

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        if state.attempt_number in (1, 10) or state.attempt_number % 50 == 0:
            log.warning(
                "%s unreachable at %s (%s); retrying", self._peer, self._path, state.outcome.exception()
            )


class _Connection(socketserver.BaseRequestHandler):
    server: Server

    def handle(self) -> None:
        self.server.track(+1, self.request)
        try:
            while True:
                try:
                    request = recv_message(self.request)
                except (OSError, ValueError):
                    return
                send_message(self.request, self.server.dispatch(request))
        finally:
            self.server.track(-1, self.request)


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Serves a handler over a Unix socket, one thread per connection (a pod has one or two)."""

    daemon_threads = True

    def __init__(self, path: Path, handler: Handler) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # left over by a previous run of this container
        super().__init__(str(path), _Connection)
        os.chmod(path, 0o660)
        self.handler = handler
        self._open: set[socket.socket] = set()
        self._count_lock = threading.Lock()
        self.idle = threading.Event()
        self.idle.set()

    def track(self, delta: int, sock: socket.socket) -> None:
        with self._count_lock:
            (self._open.add if delta > 0 else self._open.discard)(sock)
            (self.idle.set if not self._open else self.idle.clear)()

    def close(self) -> None:
        """Stops serving and drops the open connections, as the process exiting would."""
        self.shutdown()
        self.server_close()
        with self._count_lock:
            for sock in self._open:
                sock.shutdown(socket.SHUT_RDWR)

    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"ok": True, **self.handler(request)}
        except Exception as exc:
            log.exception("request %r failed", request.get("op"))
            return {"ok": False, "kind": type(exc).__name__, "error": str(exc)}
