"""broker_listening, the probe that lets a transaction step give up as soon as its broker is gone
(executor/kafka_clients.py), against real sockets: one listening, one closed."""

import socket

from executor.kafka_clients import broker_listening
from tests.localpod import free_port


def test_a_listening_server_among_the_bootstrap_servers_is_enough() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        closed = free_port()
        assert broker_listening(f"127.0.0.1:{closed}, 127.0.0.1:{port}")
        assert broker_listening([f"127.0.0.1:{port}"])


def test_refused_connections_and_unreadable_addresses_say_no_broker_listens() -> None:
    closed = free_port()
    assert not broker_listening(f"127.0.0.1:{closed}")
    assert not broker_listening(f"127.0.0.1:{closed},127.0.0.1:notaport")
