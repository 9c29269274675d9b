"""The metrics websocket through the real ASGI application and Redis channel layer: refusals a
browser can read (4401, 4403), the same-origin check, frames it does not expect, and a socket
that stops once its user signs out or loses the role."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.test import Client

from invoker_web.asgi import application
from tests.polling import HANDSHAKE_TIMEOUT
from topology_editor.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from topology_editor.groups import metrics_group

PATH = "/ws/deployments/word-count/metrics/"
SAME_ORIGIN = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]


def signed_in(user) -> tuple[Client, bytes]:
    client = Client()
    client.force_login(user)
    return client, f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("ws-viewer", password="pw-123456789")
    user.user_permissions.add(Permission.objects.get(codename="view_deployment"))
    return user


def run(scenario: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    return async_to_sync(scenario)(*args)


async def handshake(headers: list[tuple[bytes, bytes]]) -> tuple[bool, dict | None]:
    """Connects; returns whether the handshake was accepted and the close that followed, if any."""
    communicator = WebsocketCommunicator(application, PATH, headers=headers)
    connected, _ = await communicator.connect(timeout=HANDSHAKE_TIMEOUT)
    closed = None
    if connected and not await communicator.receive_nothing(timeout=0.5):
        closed = await communicator.receive_output(timeout=2)
    await communicator.disconnect()
    return connected, closed


async def publish(payload: dict) -> None:
    await get_channel_layer().group_send(
        metrics_group("word-count"), {"type": "metrics.update", "payload": payload}
    )


# --- Refusals the page can read -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_without_a_session_the_socket_is_accepted_then_closed_with_4401(redis_url: str) -> None:
    assert run(handshake, SAME_ORIGIN) == (True, {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})


@pytest.mark.django_db(transaction=True)
def test_without_a_role_the_socket_is_accepted_then_closed_with_4403(
    redis_url: str, django_user_model
) -> None:
    outsider = django_user_model.objects.create_user("ws-outsider", password="pw-123456789")
    _, cookie = signed_in(outsider)
    closed = run(handshake, [*SAME_ORIGIN, (b"cookie", cookie)])
    assert closed == (True, {"type": "websocket.close", "code": CLOSE_FORBIDDEN})


# --- Origin: scheme, host and port ----------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        b"http://localhost:9999",  # another local service, same host name
        b"https://localhost:8000",  # another scheme
        b"http://evil.example:8000",
        b"null",
        b"",
    ],
)
@pytest.mark.django_db(transaction=True)
def test_a_page_of_another_origin_cannot_open_the_socket(redis_url: str, viewer, origin: bytes) -> None:
    _, cookie = signed_in(viewer)
    headers = [(b"host", b"localhost:8000"), (b"cookie", cookie)] + ([(b"origin", origin)] if origin else [])
    assert run(handshake, headers) == (False, None)


@pytest.mark.django_db(transaction=True)
def test_a_host_outside_allowed_hosts_is_refused(redis_url: str, viewer) -> None:
    _, cookie = signed_in(viewer)
    headers = [(b"origin", b"http://evil.example:8000"), (b"host", b"evil.example:8000"), (b"cookie", cookie)]
    assert run(handshake, headers) == (False, None)


@pytest.mark.django_db(transaction=True)
def test_the_own_origin_and_trusted_origins_may(redis_url: str, viewer, settings) -> None:
    _, cookie = signed_in(viewer)
    assert run(handshake, [*SAME_ORIGIN, (b"cookie", cookie)]) == (True, None)
    # Default ports are the same origin, written or not.
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost:80"), (b"cookie", cookie)]
    assert run(handshake, headers) == (True, None)
    # Behind a TLS proxy that says so in the header SECURE_PROXY_SSL_HEADER names.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = [(b"origin", b"https://localhost"), (b"host", b"localhost"), (b"x-forwarded-proto", b"https")]
    assert run(handshake, [*proxied, (b"cookie", cookie)]) == (True, None)
    settings.CSRF_TRUSTED_ORIGINS = ["http://localhost:9999"]
    headers = [(b"origin", b"http://localhost:9999"), (b"host", b"localhost:8000"), (b"cookie", cookie)]
    assert run(handshake, headers) == (True, None)


# --- Frames nobody expects ------------------------------------------------------------------------


async def send_junk_then_receive(cookie: bytes) -> list[dict]:
    communicator = WebsocketCommunicator(application, PATH, headers=[*SAME_ORIGIN, (b"cookie", cookie)])
    assert (await communicator.connect(timeout=HANDSHAKE_TIMEOUT))[0]
    replies = []
    await communicator.send_to(text_data="{not json")
    replies.append(await communicator.receive_json_from(timeout=5))
    await communicator.send_to(bytes_data=b"\x00\xff binary")
    replies.append(await communicator.receive_json_from(timeout=5))
    await communicator.send_to(text_data="[" * 10000)
    replies.append(await communicator.receive_json_from(timeout=5))
    await publish({"still": "streaming"})
    replies.append(await communicator.receive_json_from(timeout=5))
    await communicator.disconnect()
    return replies


@pytest.mark.django_db(transaction=True)
def test_invalid_json_and_binary_frames_are_answered_not_raised(redis_url: str, viewer, caplog) -> None:
    _, cookie = signed_in(viewer)
    with caplog.at_level(logging.ERROR):
        replies = run(send_junk_then_receive, cookie)
    assert [reply["type"] for reply in replies] == ["error", "error", "error", "metrics"]
    assert {reply["error"]["code"] for reply in replies[:3]} == {"not_supported"}
    assert "binary" in replies[1]["error"]["message"]
    assert replies[3]["payload"] == {"still": "streaming"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


# --- Signing out or losing the role ends the stream -----------------------------------------------


async def stream_then(cookie: bytes, change: Callable[[], Any]) -> tuple[dict, dict]:
    """One payload received; then ``change`` happens, and the next payload is published."""
    communicator = WebsocketCommunicator(application, PATH, headers=[*SAME_ORIGIN, (b"cookie", cookie)])
    assert (await communicator.connect(timeout=HANDSHAKE_TIMEOUT))[0]
    await publish({"tick": 1})
    # Generous timeouts: each step is a session read in a database thread, which a loaded
    # machine (PostgreSQL, a new connection per read) has taken more than 5 s to give.
    first = await communicator.receive_json_from(timeout=20)
    await change()
    await publish({"tick": 2})
    after = await communicator.receive_output(timeout=20)
    await communicator.disconnect()
    return first, after


@pytest.mark.django_db(transaction=True)
def test_a_socket_stops_at_the_next_message_once_its_user_signs_out(redis_url: str, viewer) -> None:
    from channels.db import database_sync_to_async

    client, cookie = signed_in(viewer)
    first, after = run(stream_then, cookie, database_sync_to_async(client.logout))
    assert first == {"type": "metrics", "payload": {"tick": 1}}
    assert after == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


@pytest.mark.django_db(transaction=True)
def test_a_socket_stops_at_the_next_message_once_its_user_loses_the_role(redis_url: str, viewer) -> None:
    from channels.db import database_sync_to_async

    _, cookie = signed_in(viewer)

    def revoke() -> None:
        viewer.user_permissions.clear()

    first, after = run(stream_then, cookie, database_sync_to_async(revoke))
    assert first["type"] == "metrics"
    assert after == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
