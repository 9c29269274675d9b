"""The websocket consumers receive group messages sent through the real Redis channel layer."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer
from django.contrib.auth.models import Permission
from django.test import Client

from invoker_web.asgi import application
from tests.polling import HANDSHAKE_TIMEOUT
from topology_editor.consumers import CLOSE_UNAUTHENTICATED
from topology_editor.groups import metrics_group

HEADERS = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def receive_group_message(cookie: bytes, payload: dict) -> dict:
    communicator = WebsocketCommunicator(
        application, "/ws/deployments/word-count/metrics/", headers=[*HEADERS, (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect(timeout=HANDSHAKE_TIMEOUT)
    assert connected
    await get_channel_layer().group_send(
        metrics_group("word-count"), {"type": "metrics.update", "payload": payload}
    )
    message = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    return message


async def connect_anonymously() -> tuple[bool, dict]:
    """Accepted, then closed with a code the browser can read (a refused handshake is 1006)."""
    communicator = WebsocketCommunicator(application, "/ws/deployments/word-count/metrics/", headers=HEADERS)
    connected, _ = await communicator.connect(timeout=HANDSHAKE_TIMEOUT)
    closed = await communicator.receive_output(timeout=5)
    await communicator.disconnect()
    return connected, closed


@pytest.mark.django_db(transaction=True)
def test_a_subscriber_receives_a_group_message_through_redis(redis_url: str, django_user_model) -> None:
    assert isinstance(get_channel_layer(), RedisChannelLayer)
    user = django_user_model.objects.create_user("ws-subscriber", password="pw-123456789")
    user.user_permissions.add(Permission.objects.get(codename="view_deployment"))  # the viewer's right
    message = async_to_sync(receive_group_message)(session_cookie(user), {"pods": 3})
    assert message == {"type": "metrics", "payload": {"pods": 3}}


@pytest.mark.django_db(transaction=True)
def test_a_websocket_without_a_session_is_closed(redis_url: str) -> None:
    connected, closed = async_to_sync(connect_anonymously)()
    assert connected
    assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
