"""Issue 18 item 6, fan-out that holds: many dashboard websockets connecting at once against the
real server (Uvicorn, the real Redis channel layer) all open and all get the frame, and a Redis
restart closes each socket with a code the page understands (1012, "service restart") instead of
dropping it without a close frame, after which sockets reconnect without an HTTP 500.

The channel layer here is a redis-server of the test's own (``CHANNELS_REDIS_URL``), so stopping
it disturbs nobody; sessions and the cache stay on the shared Redis (``REDIS_URL``).
"""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from invoker_web.websocket_protocol import UVICORN_WS
from tests.executor.services import PrivateRedis
from tests.loops import run_loop
from tests.servers import free_port, wait_for_health
from topology_editor import fanout
from topology_editor.consumers import CLOSE_UNAUTHENTICATED
from topology_editor.fanout import frame_of

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = "fanout-demo"
#: More than redis-py's default pool of 100 connections, which 200 sockets at once overran.
SOCKETS = int(os.environ.get("WS_FANOUT_SOCKETS", "200"))
#: Close codes of RFC 6455 the page reconnects after (static/invoker/common.js).
SERVICE_RESTART, TRY_AGAIN_LATER = 1012, 1013
SESSION = """
from django.contrib.auth.models import Group, User
from django.test import Client
viewer = User.objects.create_user("fanout-viewer")
viewer.groups.set([Group.objects.get(name="viewer")])
client = Client()
client.force_login(viewer)
print("SESSION=" + client.cookies["sessionid"].value)
"""
SIGN_OUT = """
from importlib import import_module
from django.conf import settings
import_module(settings.SESSION_ENGINE).SessionStore("{key}").delete()
"""


@dataclass
class Stack:
    url: str
    cookie: str
    redis: PrivateRedis
    log: Path
    env: dict[str, str]

    def shell(self, code: str) -> str:
        """Runs ``code`` in ``manage.py shell`` against the server's database; returns its output."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
            cwd=ROOT, env=self.env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return done.stdout

    @property
    def socket_url(self) -> str:
        return self.url.replace("http://", "ws://") + f"/ws/deployments/{DEPLOYMENT}/metrics/"

    @property
    def list_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws/deployments/"

    def connect(self, url: str | None = None, cookie: str | None = None) -> connect:
        return connect(
            url or self.socket_url,
            origin=self.url,
            additional_headers={"Cookie": f"sessionid={cookie or self.cookie}"},
            open_timeout=60,
            max_queue=None,
        )

    def pause_redis(self, milliseconds: int) -> None:
        client = redis.Redis.from_url(self.redis.url)
        try:
            client.client_pause(milliseconds)
        finally:
            client.close()

    def publish(self, payload: dict) -> None:
        """Sends ``payload`` as the collector does (``jobs.collector.publish``), through a layer
        of its own on the private Redis."""
        layer = RedisChannelLayer(hosts=[{"address": self.redis.url}])

        async def send() -> None:
            await layer.group_send(f"metrics.{DEPLOYMENT}", {"type": "metrics.update", "payload": payload})
            await layer.close_pools()

        async_to_sync(send)()


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    redis = PrivateRedis()
    try:
        redis.start()
    except Exception as exc:  # any reason it cannot run fails the test
        pytest.fail(f"cannot start a private redis-server: {exc}")
    workdir = tmp_path_factory.mktemp("ws-fanout")
    env = {
        **os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}", "INVOKER_DATA_DIR": str(workdir),
        "REDIS_URL": redis_url, "CHANNELS_REDIS_URL": redis.url, "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "invoker_web.settings",
    }  # fmt: skip
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    setup = subprocess.run(
        [*manage, "shell", "-c", SESSION], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    cookie = setup.stdout.split("SESSION=", 1)[1].strip()
    port, log_path = free_port(), workdir / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "invoker_web.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--ws", UVICORN_WS, "--backlog", "4096"],
        cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(url, process, log_path)
        yield Stack(url, cookie, redis, log_path, env)
    finally:
        process.terminate()
        process.wait(timeout=30)
        redis.stop()


async def open_all(stack: Stack, count: int) -> tuple[list[ClientConnection], list[str]]:
    """Opens ``count`` sockets at once; returns the open ones and a description of each failure."""
    results = await asyncio.gather(*(stack.connect() for _ in range(count)), return_exceptions=True)
    opened = [r for r in results if not isinstance(r, BaseException)]
    failed = [
        f"HTTP {r.response.status_code}" if isinstance(r, InvalidStatus) else repr(r)
        for r in results
        if isinstance(r, BaseException)
    ]
    return opened, failed


async def first_message(socket: ClientConnection, timeout: float) -> str:
    try:
        return str(await asyncio.wait_for(socket.recv(), timeout))
    except (TimeoutError, ConnectionClosed) as exc:
        return f"nothing ({exc!r})"


async def close_code(socket: ClientConnection, timeout: float) -> int | None:
    """The code of the close frame the server sent (None: closed without one, or still open)."""
    try:
        await asyncio.wait_for(socket.wait_closed(), timeout)
    except TimeoutError:
        return None
    received = socket.protocol.close_rcvd
    return received.code if received else None


def test_200_sockets_connecting_at_once_all_open_and_all_get_the_frame(stack: Stack) -> None:
    async def scenario() -> None:
        # Redis stalls for a moment as they connect (as during a fork for a save, or a slow
        # command): every consumer's group_add waits at once, each holding a pool connection.
        stack.pause_redis(5000)
        opened, failed = await open_all(stack, SOCKETS)
        try:
            assert not failed, f"{len(failed)} of {SOCKETS} sockets failed to open: {sorted(set(failed))}"
            await asyncio.sleep(0.5)  # every consumer has joined the group before the handshake completes
            await asyncio.to_thread(stack.publish, {"deployment": DEPLOYMENT, "seq": 1})
            received = await asyncio.gather(*(first_message(s, 60) for s in opened))
            missed = [r for r in received if '"seq": 1' not in r]
            assert not missed, f"{len(missed)} of {SOCKETS} sockets missed the frame, e.g. {missed[0]}"
        finally:
            await asyncio.gather(*(s.close() for s in opened))

    run_loop(scenario())
    assert "Traceback" not in stack.log.read_text(), stack.log.read_text()[-3000:]


def test_a_redis_restart_closes_sockets_with_1012_and_they_reconnect_without_a_500(stack: Stack) -> None:
    async def scenario() -> None:
        opened, failed = await open_all(stack, 20)
        assert not failed, failed
        await asyncio.to_thread(stack.redis.shutdown_nosave)
        codes = await asyncio.gather(*(close_code(s, 30) for s in opened))
        assert codes == [SERVICE_RESTART] * len(opened), f"close codes: {codes}"
        # While Redis is down a new socket is told to try again later, not answered with a 500.
        down = await stack.connect()
        assert await close_code(down, 30) == TRY_AGAIN_LATER
        down_list = await stack.connect(stack.list_url)  # the list page's socket alike
        assert await close_code(down_list, 30) == TRY_AGAIN_LATER
        await asyncio.to_thread(stack.redis.start)
        # Back up: no stale connection of the pool turns a reconnect into a 500.
        again, failed = await open_all(stack, 50)
        try:
            assert not failed, f"reconnects failed after the restart: {sorted(set(failed))}"
            await asyncio.sleep(0.5)
            await asyncio.to_thread(stack.publish, {"deployment": DEPLOYMENT, "seq": 2})
            received = await asyncio.gather(*(first_message(s, 60) for s in again))
            assert all('"seq": 2' in r for r in received), received
        finally:
            await asyncio.gather(*(s.close() for s in again))

    run_loop(scenario())


def test_a_signed_out_users_sockets_are_closed_at_the_next_frame_and_the_others_get_it(stack: Stack) -> None:
    """Most sockets get a frame written directly by the fan-out; one whose session is gone is
    handed the frame as a message instead and closes itself with 4401, as before."""
    leaving = stack.shell(SESSION.replace("fanout-viewer", "fanout-leaving")).split("SESSION=", 1)[1].strip()

    async def scenario() -> tuple[list[str], list[int | None]]:
        stays, _ = await open_all(stack, 20)
        gone = [await stack.connect(cookie=leaving) for _ in range(5)]
        try:
            await asyncio.sleep(0.5)
            await asyncio.to_thread(stack.publish, {"deployment": DEPLOYMENT, "seq": 10})
            first = await asyncio.gather(*(first_message(s, 60) for s in stays + gone))
            assert all('"seq": 10' in r for r in first), first
            await asyncio.to_thread(stack.shell, SIGN_OUT.format(key=leaving))
            await asyncio.to_thread(stack.publish, {"deployment": DEPLOYMENT, "seq": 11})
            received = await asyncio.gather(*(first_message(s, 60) for s in stays))
            codes = await asyncio.gather(*(close_code(s, 30) for s in gone))
            return received, codes
        finally:
            await asyncio.gather(*(s.close() for s in stays + gone))

    received, codes = run_loop(scenario())
    assert all('"seq": 11' in r for r in received), received
    assert codes == [CLOSE_UNAUTHENTICATED] * 5


def test_one_frame_is_encoded_once_and_each_session_read_once_for_all_its_sockets() -> None:
    reads: list[str] = []

    async def check() -> int | None:
        reads.append("read")
        await asyncio.sleep(0.01)
        return None

    async def forward(payload: dict) -> list[int | None]:
        return await asyncio.gather(*(frame_of(payload).refusal("session-a", check) for _ in range(50)))

    payload = {"deployment": DEPLOYMENT, "seq": 1}
    assert run_loop(forward(payload)) == [None] * 50
    assert frame_of(payload) is frame_of(payload)
    assert frame_of(payload).text == '{"type": "metrics", "payload": {"deployment": "fanout-demo", "seq": 1}}'
    assert reads == ["read"]
    # The next frame reads the session again: a user who signed out is cut off at the next frame.
    run_loop(forward({"deployment": DEPLOYMENT, "seq": 2}))
    assert reads == ["read", "read"]


class StandIn:
    """A metrics socket as :func:`deliver_metrics` sees it: its user's session and a direct write."""

    def __init__(self, session_key: str, refusal: int | None, writable: bool = True) -> None:
        self.session_key, self.refusal, self.writable = session_key, refusal, writable
        self.written: list[bytes] = []
        self.reads = 0

    async def session_refusal(self) -> int | None:
        self.reads += 1
        await asyncio.sleep(0.01)
        return self.refusal

    def send_now(self, data: bytes) -> bool:
        if self.writable:
            self.written.append(data)
        return self.writable


def test_the_fan_out_writes_each_allowed_idle_socket_at_once_and_leaves_the_rest() -> None:
    sockets = {
        "a1": StandIn("alice", None), "a2": StandIn("alice", None),
        "slow": StandIn("alice", None, writable=False),  # paused or closing: the usual way
        "bob": StandIn("bob", CLOSE_UNAUTHENTICATED),  # signed out: its handler closes it
    }  # fmt: skip
    for channel, socket in sockets.items():
        fanout.register(channel, socket)
    fanout.register("gone", StandIn("carol", None))
    fanout.unregister("gone")
    payload = {"deployment": DEPLOYMENT, "seq": 3}
    try:
        left = run_loop(fanout.deliver_metrics([*sockets, "gone", "unknown"], {"payload": payload}))
    finally:
        for channel in sockets:
            fanout.unregister(channel)
    assert left == ["slow", "bob", "gone", "unknown"]
    frame = frame_of(payload).data
    assert [sockets[c].written for c in sockets] == [[frame], [frame], [], []]
    # Each user's session is read once for the frame, whichever of their sockets asked.
    assert sum(s.reads for s in sockets.values() if s.session_key == "alice") == 1
    assert sockets["bob"].reads == 1
