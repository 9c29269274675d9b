"""Issue 18 item 6: a Redis restart under an open metrics page. The server closes the socket with
1012 ("service restart"), the page says it is reconnecting, comes back by itself once Redis is
up, and draws the next frame: no reload, no HTTP 500 on the way.

The page is served by a second Uvicorn on the browser tests' database whose channel layer is a
redis-server of this test's own (``CHANNELS_REDIS_URL``), so restarting it disturbs nobody.
"""

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer
from playwright.sync_api import Browser, Page, expect

from invoker_web.websocket_protocol import UVICORN_WS
from tests.browser.conftest import ROOT, Server, screenshot
from tests.browser.payloads import payload
from tests.executor.services import PrivateRedis
from tests.loops import in_own_thread
from tests.servers import free_port, wait_for_health
from topology_editor import metrics_history
from topology_editor.groups import metrics_group

NAME = "redis-restart"


class OwnLayerServer:
    def __init__(self, url: str, redis: PrivateRedis) -> None:
        self.url, self.redis = url, redis

    def publish(self, body: dict) -> None:
        """Sends ``body`` into its deployment's group through the private Redis (the collector's call)."""
        layer = RedisChannelLayer(hosts=[{"address": self.redis.url}])

        async def send() -> None:
            await layer.group_send(
                metrics_group(body["deployment"]), {"type": "metrics.update", "payload": body}
            )
            await layer.close_pools()

        in_own_thread(async_to_sync(send), timeout=30)


@pytest.fixture
def own_layer_server(server: Server, tmp_path) -> Iterator[OwnLayerServer]:
    redis = PrivateRedis()
    try:
        redis.start()
    except Exception as exc:  # any reason it cannot run fails the test
        pytest.fail(f"cannot start a private redis-server: {exc}")
    port, log = free_port(), tmp_path / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "invoker_web.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--ws", UVICORN_WS],
        cwd=ROOT, env={**server.env, "CHANNELS_REDIS_URL": redis.url}, stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(url, process, log)
        yield OwnLayerServer(url, redis)
    finally:
        process.terminate()
        process.wait(timeout=30)
        redis.stop()


def signed_in(browser: Browser, url: str, persona: str) -> Page:
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", persona)
    page.fill("input[name=password]", f"{persona}-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return page


def test_a_redis_restart_shows_reconnecting_and_the_page_comes_back_live(
    browser: Browser, example, own_layer_server: OwnLayerServer
) -> None:
    example(NAME)
    metrics_history.clear(NAME)
    page = signed_in(browser, own_layer_server.url, "viewer")
    try:
        page.goto(f"{own_layer_server.url}/deployments/{NAME}/metrics/")
        conn = page.locator("#conn")
        expect(conn).to_have_attribute("data-state", "open")

        own_layer_server.redis.shutdown_nosave()
        expect(conn).to_have_attribute("data-state", "restarting")
        expect(conn).to_have_text("server restarting — reconnecting…")
        screenshot(page, "metrics-redis-restart.png")

        own_layer_server.redis.start()
        expect(conn).to_have_attribute("data-state", "open", timeout=60_000)
        state = page.locator("#status [data-status=state]")
        deadline, tick = time.monotonic() + 60, 0
        while state.inner_text() != "Running" and time.monotonic() < deadline:
            tick += 1
            own_layer_server.publish(payload(NAME, tick))
            page.wait_for_timeout(300)
        expect(state).to_have_text("Running")
    finally:
        page.context.close()
