"""Presence on the editor's metrics socket (issue 14 item 8), through the real ASGI application,
the Redis channel layer and Redis: who else has a deployment open and who is editing it, a tab
whose server died expiring, and a save announced at once to the open editors."""

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.test import Client

from invoker_web.asgi import application
from tests.polling import HANDSHAKE_TIMEOUT
from tests.topology.conftest import example_manifest
from topology_editor import presence, services
from topology_editor.models import Interface

SAME_ORIGIN = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]


def _path(name: str) -> str:
    return f"/ws/deployments/{name}/metrics/"


def _cookie(user: Any) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [*SAME_ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


def _user(django_user_model: Any, name: str, *codenames: str) -> Any:
    user = django_user_model.objects.create_user(name, password="pw-123456789")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def viewer(django_user_model: Any) -> Any:
    """The user and their session's headers (read from the database, so made outside the loop)."""
    user = _user(django_user_model, "presence-viewer", "view_deployment")
    return user, _cookie(user)


@pytest.fixture
def editor(django_user_model: Any) -> Any:
    user = _user(django_user_model, "presence-editor", "view_deployment", "change_deployment")
    return user, _cookie(user)


def _create(name: str) -> None:
    manifest = example_manifest()
    manifest["metadata"]["name"] = name
    services.create_deployment(manifest, actor=None, interface=Interface.CLI)


def run(scenario: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    return async_to_sync(scenario)(*args)


async def _open(name: str, headers: Any, editing: bool | None = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, _path(name), headers=headers)
    connected, _ = await communicator.connect(timeout=HANDSHAKE_TIMEOUT)
    assert connected
    if editing is not None:
        await communicator.send_json_to({"type": "presence", "editing": editing})
    return communicator


async def _next(communicator: WebsocketCommunicator, timeout: float = 10) -> dict[str, Any]:
    return await communicator.receive_json_from(timeout=timeout)


async def _two_tabs(name: str, editor: Any, viewer: Any) -> list[Any]:
    seen = []
    mine = await _open(name, editor[1], editing=False)
    seen.append(await _next(mine))  # alone
    theirs = await _open(name, viewer[1], editing=True)  # a viewer cannot edit, whatever it says
    seen += [await _next(mine), await _next(theirs)]
    await mine.send_json_to({"type": "presence", "editing": True})
    seen += [await _next(theirs), await _next(mine)]
    await theirs.disconnect()
    seen.append(await _next(mine))
    await mine.disconnect()
    return seen


@pytest.mark.django_db(transaction=True)
def test_each_tab_sees_who_else_is_there_and_only_editors_count_as_editing(redis_url, editor, viewer) -> None:
    _create("presence-two")
    seen = run(_two_tabs, "presence-two", editor, viewer)
    viewer_viewing = [{"user": "presence-viewer", "editing": False}]
    assert seen == [
        {"type": "presence", "others": []},
        {"type": "presence", "others": viewer_viewing},
        {"type": "presence", "others": [{"user": "presence-editor", "editing": False}]},
        {"type": "presence", "others": [{"user": "presence-editor", "editing": True}]},
        {"type": "presence", "others": viewer_viewing},
        {"type": "presence", "others": []},  # the viewer closed their tab
    ]


async def _metrics_page_and_editor(name: str, editor: Any, viewer: Any) -> tuple[Any, bool]:
    metrics_page = await _open(name, viewer[1])  # never says presence: the metrics page
    tab = await _open(name, editor[1], editing=False)
    alone = await _next(tab)
    nothing = await metrics_page.receive_nothing(timeout=1)
    await metrics_page.disconnect()
    await tab.disconnect()
    return alone, nothing


@pytest.mark.django_db(transaction=True)
def test_a_socket_that_never_says_presence_is_neither_counted_nor_told(redis_url, editor, viewer) -> None:
    _create("presence-metrics")
    alone, nothing = run(_metrics_page_and_editor, "presence-metrics", editor, viewer)
    assert alone == {"type": "presence", "others": []}
    assert nothing


#: Seconds the dead server's entry lives (the refresher prunes every 0.5 s at the test's TTL).
GHOST_TTL = 3


async def _ghost_expires(name: str, editor: Any) -> list[Any]:
    # A tab whose server process died: its entry is in Redis, and no disconnect will ever remove it.
    # Its entry outlives the tab's handshake, so the tab sees it before it expires: at 0.5 s a
    # handshake on a loaded machine took longer, the tab never saw the ghost, and the test failed.
    await presence.enter(name, presence.Member("ghost-channel", "ghost", True), ttl=GHOST_TTL)
    tab = await _open(name, editor[1], editing=False)
    seen = [await _next(tab), await _next(tab, timeout=GHOST_TTL + 10)]
    await tab.disconnect()
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_tab_whose_server_died_disappears_within_the_expiry(redis_url, editor, settings) -> None:
    settings.INVOKER_PRESENCE_TTL_SECONDS = 1.5  # refreshed (and pruned) every 0.5 s
    _create("presence-ghost")
    seen = run(_ghost_expires, "presence-ghost", editor)
    assert seen == [
        {"type": "presence", "others": [{"user": "ghost", "editing": True}]},
        {"type": "presence", "others": []},
    ]


def _save(name: str, actor: Any) -> int:
    manifest = example_manifest()
    manifest["metadata"]["name"] = name
    manifest["spec"]["statefulEntities"][0]["outputTopic"] = "presence-tokens"
    change = services.update_deployment(name, manifest, actor=actor, interface=Interface.API)
    return change.revision.name


async def _told_of_a_save(name: str, editor: Any, viewer: Any) -> tuple[Any, Any]:
    tab = await _open(name, viewer[1], editing=False)
    await _next(tab)
    revision = await database_sync_to_async(_save)(name, editor[0])
    told = await _next(tab)
    await tab.disconnect()
    return told, revision


@pytest.mark.django_db(transaction=True)
def test_a_save_by_anyone_is_announced_at_once_to_the_open_editors(redis_url, editor, viewer) -> None:
    _create("presence-save")
    told, revision = run(_told_of_a_save, "presence-save", editor, viewer)
    assert told == {"type": "saved", "version": 2, "revision": revision, "by": "presence-editor"}


async def _bad_presence(name: str, viewer: Any) -> list[Any]:
    tab = await _open(name, viewer[1])
    replies = []
    for message in ({"type": "presence", "editing": "yes"}, {"type": "presence"}, {"type": "other"}):
        await tab.send_to(text_data=json.dumps(message))
        replies.append(await _next(tab))
    nothing = await tab.receive_nothing(timeout=0.5)
    await tab.disconnect()
    return [*replies, nothing]


@pytest.mark.django_db(transaction=True)
def test_a_bad_presence_message_is_answered_and_joins_nothing(redis_url, viewer) -> None:
    _create("presence-bad")
    bad_flag, missing, other, nothing = run(_bad_presence, "presence-bad", viewer)
    assert bad_flag["error"]["code"] == missing["error"]["code"] == "bad_presence"
    assert other["error"]["code"] == "not_supported"
    assert nothing
    assert run(presence.members, "presence-bad") == ([], False)
