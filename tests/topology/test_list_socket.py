"""The deployments list's one websocket, through the real ASGI application and the Redis channel
layer (issue 18 item 7): refusals the page can read, creations and deletions announced once
committed, and each deployment's status (only the status) forwarded on the same socket."""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.db import transaction
from django.test import Client

from invoker_web.asgi import application
from tests.topology.conftest import example_manifest
from topology_editor import services
from topology_editor.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from topology_editor.groups import metrics_group
from topology_editor.models import Interface

PATH = "/ws/deployments/"
SAME_ORIGIN = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]


def _cookie(user: Any) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [*SAME_ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


@pytest.fixture
def viewer(django_user_model: Any) -> Any:
    """Made per test: transactional tests flush the tables, the session's personas with them."""
    user = django_user_model.objects.create_user("list-viewer", password="pw-123456789")
    user.user_permissions.add(Permission.objects.get(codename="view_deployment"))
    return user


def run(scenario: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    return async_to_sync(scenario)(*args)


def _create(name: str) -> None:
    manifest = example_manifest()
    manifest["metadata"]["name"] = name
    services.create_deployment(manifest, actor=None, interface=Interface.CLI)


async def _publish(name: str, tick: int) -> None:
    payload = {"deployment": name, "status": {"state": "Ready", "tick": tick}, "pods": [{"name": "p"}]}
    await get_channel_layer().group_send(metrics_group(name), {"type": "metrics.update", "payload": payload})


async def _closed_with(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    communicator = WebsocketCommunicator(application, PATH, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    closed = await communicator.receive_output(timeout=5)
    await communicator.disconnect()
    return closed


@pytest.mark.django_db(transaction=True)
def test_anonymous_and_roleless_users_get_a_close_code_the_page_understands(
    redis_url, django_user_model
) -> None:
    assert run(_closed_with, SAME_ORIGIN) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
    roleless = django_user_model.objects.create_user("list-outsider", password="pw-123456789")
    outsider = run(_closed_with, _cookie(roleless))
    assert outsider == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}


async def _watch_the_list(headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    communicator = WebsocketCommunicator(application, PATH, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    received = []
    await _publish("list-before", 1)  # existed before the socket opened
    received.append(await communicator.receive_json_from(timeout=5))
    await database_sync_to_async(_create)("list-new")
    received.append(await communicator.receive_json_from(timeout=5))
    await _publish("list-new", 2)  # joined when it was announced
    received.append(await communicator.receive_json_from(timeout=5))
    await database_sync_to_async(services.delete_deployment)("list-new", actor=None, interface=Interface.CLI)
    received.append(await communicator.receive_json_from(timeout=5))
    await _publish("list-new", 3)  # left when it was deleted
    assert await communicator.receive_nothing(timeout=1)
    await communicator.disconnect()
    return received


@pytest.mark.django_db(transaction=True)
def test_one_socket_carries_creations_deletions_and_every_rows_status(redis_url, viewer) -> None:
    _create("list-before")
    received = run(_watch_the_list, _cookie(viewer))
    assert received == [
        {"type": "status", "name": "list-before", "status": {"state": "Ready", "tick": 1}},
        {"type": "created", "name": "list-new"},
        {"type": "status", "name": "list-new", "status": {"state": "Ready", "tick": 2}},
        {"type": "deleted", "name": "list-new"},
    ]


class _UndoError(Exception):
    pass


def _create_then_roll_back() -> None:
    try:
        with transaction.atomic():
            _create("list-undone")
            raise _UndoError
    except _UndoError:
        pass


async def _nothing_after_a_rollback(headers: list[tuple[bytes, bytes]]) -> bool:
    communicator = WebsocketCommunicator(application, PATH, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    await database_sync_to_async(_create_then_roll_back)()
    nothing = await communicator.receive_nothing(timeout=1)
    await communicator.disconnect()
    return nothing


@pytest.mark.django_db(transaction=True)
def test_a_creation_rolled_back_is_never_announced(redis_url, viewer) -> None:
    assert run(_nothing_after_a_rollback, _cookie(viewer))
