"""A tab that goes while its socket is busy still leaves the others' presence lists (issue 14
item 8), on the real server: Uvicorn, the Redis channel layer, Redis.

A message sent to a client that has just gone raises in Uvicorn before the socket's disconnect is
read, and Uvicorn swallows that, so the consumer's ``disconnect`` never ran: the closed tab stayed
listed for good, its refresher keeping the entry alive (seen in the browser suite about one run in
three, when the tab closed while its own presence broadcast was being sent to it). Here the tab
sends a burst of presence messages and closes at once, so its consumer is still answering them
(each broadcast comes back to it) when the connection is lost. No browser: two websocket clients.
"""

import asyncio
import json
import time
from typing import Any

import requests
from websockets.asyncio.client import ClientConnection, connect

from tests.browser.conftest import Server
from tests.loops import run_loop

#: Well under the presence expiry (30 s), so only the consumer's own leave can pass.
LEAVE_TIMEOUT_SECONDS = 10.0
BURST = 30


def session_cookie(server: Server, persona: str) -> str:
    """Signs ``persona`` in through the login form; the ``Cookie`` header of that session."""
    session = requests.Session()
    session.get(f"{server.url}/accounts/login/", timeout=30).raise_for_status()
    form = {
        "username": persona,
        "password": f"{persona}-password",
        "csrfmiddlewaretoken": session.cookies["csrftoken"],
    }
    login = f"{server.url}/accounts/login/"
    signed_in = session.post(login, data=form, timeout=30, headers={"Referer": server.url})
    signed_in.raise_for_status()
    assert "sessionid" in session.cookies, "the login form did not sign in"
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


async def open_tab(server: Server, cookie: str, name: str) -> ClientConnection:
    url = server.url.replace("http://", "ws://") + f"/ws/deployments/{name}/metrics/"
    return await connect(url, additional_headers={"Cookie": cookie}, origin=server.url, open_timeout=30)


async def presence_until(tab: ClientConnection, wanted: list[dict[str, Any]], timeout: float) -> list[Any]:
    """The presence lists ``tab`` is sent, until one equals ``wanted`` (or the timeout: then
    the last seen is not ``wanted``)."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while not seen or seen[-1] != wanted:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            message = json.loads(await asyncio.wait_for(tab.recv(), timeout=left))
        except TimeoutError:
            break
        if message.get("type") == "presence":
            seen.append(message["others"])
    return seen


async def scenario(server: Server, name: str) -> tuple[list[Any], list[Any]]:
    editor_cookie, operator_cookie = session_cookie(server, "editor"), session_cookie(server, "operator")
    editor = await open_tab(server, editor_cookie, name)
    await editor.send(json.dumps({"type": "presence", "editing": False}))
    assert (await presence_until(editor, [], 30))[-1] == [], "the editor never saw itself alone"

    operator = await open_tab(server, operator_cookie, name)
    joined = [{"user": "operator", "editing": False}]
    for index in range(BURST):
        await operator.send(json.dumps({"type": "presence", "editing": index % 2 == 0}))
    joined_seen = await presence_until(editor, joined, 60)
    await operator.close()  # the consumer is still answering the burst: each answer goes to it

    left_seen = await presence_until(editor, [], LEAVE_TIMEOUT_SECONDS)
    await editor.close()
    return joined_seen, left_seen


def test_a_tab_closed_while_its_socket_is_busy_leaves_the_others_lists(example, server: Server) -> None:
    example("presence-gone")
    joined_seen, left_seen = run_loop(scenario(server, "presence-gone"))
    assert joined_seen[-1] == [{"user": "operator", "editing": False}], joined_seen
    assert left_seen, f"no presence list in {LEAVE_TIMEOUT_SECONDS:.0f} s after the tab closed"
    assert left_seen[-1] == [], (
        f"the closed tab is still listed after {LEAVE_TIMEOUT_SECONDS:.0f} s; lists seen since: {left_seen}"
    )
