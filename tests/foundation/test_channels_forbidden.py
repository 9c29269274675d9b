"""A signed-in user without a role that may read deployments gets no live metrics."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from invoker_web.asgi import application
from tests.foundation.test_channels_layer import HEADERS, session_cookie
from tests.polling import HANDSHAKE_TIMEOUT
from topology_editor.consumers import CLOSE_FORBIDDEN


async def connect(cookie: bytes) -> tuple[bool, int | None]:
    """Accepted, then closed with a code the browser can read (a refused handshake is 1006)."""
    communicator = WebsocketCommunicator(
        application, "/ws/deployments/word-count/metrics/", headers=[*HEADERS, (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect(timeout=HANDSHAKE_TIMEOUT)
    closed = await communicator.receive_output(timeout=5)
    await communicator.disconnect()
    return connected, closed.get("code")


@pytest.mark.django_db(transaction=True)
def test_a_user_without_a_role_is_refused_the_metrics_stream(redis_url: str, django_user_model) -> None:
    outsider = django_user_model.objects.create_user("ws-outsider", password="pw-123456789")
    assert async_to_sync(connect)(session_cookie(outsider)) == (True, CLOSE_FORBIDDEN)
