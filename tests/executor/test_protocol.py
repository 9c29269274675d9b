"""The socket protocol: framing, errors, batches of bytes, and reconnecting through restarts."""

import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from executor.protocol import Client, DisconnectedError, RemoteError, Server, recv_message, send_message

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.binary() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.integers(0, 99), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=5), values, max_size=5))
def test_any_message_survives_the_framing(message):
    left, right = socket.socketpair()
    with left, right:
        send_message(left, message)
        assert recv_message(right) == message


def test_a_big_batch_crosses_in_one_message():
    batch = {"partitions": {p: [[b"k", b"x" * 100, i, 0] for i in range(20000)] for p in range(3)}}
    left, right = socket.socketpair()
    with left, right:
        thread = threading.Thread(target=send_message, args=(left, batch))
        thread.start()
        received = recv_message(right)
        thread.join()
    assert len(received["partitions"][2]) == 20000
    assert received["partitions"][0][5][1] == b"x" * 100


@pytest.fixture
def sock_path():
    # Unix socket paths are limited to ~107 bytes; pytest's tmp paths can be longer.
    directory = Path(tempfile.mkdtemp(prefix="inv-proto-", dir="/tmp"))
    yield directory / "s.sock"
    shutil.rmtree(directory, ignore_errors=True)


def serve(path, handler):
    server = Server(path, handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_request_gets_its_answer_and_errors_come_back_typed(sock_path):
    def handler(request):
        if request["op"] == "boom":
            raise KeyError("missing")
        return {"echo": request["x"]}

    server = serve(sock_path, handler)
    client = Client(sock_path, "test peer", patience=2)
    try:
        assert client.call("echo", x=b"\x00\xff")["echo"] == b"\x00\xff"
        with pytest.raises(RemoteError) as error:
            client.call("boom")
        assert error.value.kind == "KeyError"
        assert client.call("echo", x=1)["echo"] == 1  # the connection survives an error
    finally:
        client.close()
        server.close()


def test_the_client_reconnects_when_the_peer_restarts(sock_path):
    first = serve(sock_path, lambda r: {"who": "first"})
    client = Client(sock_path, "test peer", patience=5)
    assert client.call("x")["who"] == "first"
    first.close()
    second = serve(sock_path, lambda r: {"who": "second"})
    try:
        assert client.call("x")["who"] == "second"
    finally:
        client.close()
        second.close()


def test_an_absent_peer_is_reported_after_the_patience_runs_out(sock_path):
    with pytest.raises(DisconnectedError, match="test peer"):
        Client(sock_path, "test peer", patience=0.3).call("x")


def test_the_server_knows_when_its_clients_are_gone(sock_path):
    server = serve(sock_path, lambda r: {})
    client = Client(sock_path, "test peer", patience=2)
    client.call("x")
    assert not server.idle.is_set()
    client.close()
    assert server.idle.wait(2)
    server.close()
