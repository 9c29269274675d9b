"""A real ASGI server (Uvicorn: HTTP and websockets) on a PostgreSQL database of its own, and
headless Debian Chromium driven by Playwright.

The server runs in a subprocess, so it cannot share pytest-django's test database: the
session creates a fresh PostgreSQL database, migrates it, creates the personas (password
``<name>-password``, plus an API token each) and drops it at the end. These tests use no
pytest-django database fixture, so they are not marked ``db`` and run once per ``./dev test``.
They fail, never skip, when Chromium, PostgreSQL or the server is missing.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from invoker_web.websocket_protocol import UVICORN_WS
from tests.loops import in_own_thread
from tests.servers import POSTGRES_URL, free_port, postgres_admin, wait_for_health

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("INVOKER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    *("--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking"),
    *("--disable-component-update", "--disable-sync"),
]
#: How long a page action, and an ``expect`` without a timeout of its own, waits. Playwright's
#: 5 s for ``expect`` was too short for Swagger UI's bundle to run on 2 cores at load 17 (a
#: fresh-clone run beside the live sample).
PAGE_TIMEOUT_MS = 15_000
#: Screenshots of each browser test run, for looking at a failure. The README's screenshots are
#: of the live word-count sample (`./dev up`), not of these synthetic payloads.
SCREENSHOTS = Path(tempfile.gettempdir()) / "invoker-screenshots"
PERSONAS = ("owner", "editor", "operator", "viewer")
SETUP_PERSONAS = """
import json
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
tokens = {}
for name in %r:
    user = User.objects.create_user(
        name, password=name + "-password", is_staff=True, is_superuser=name == "owner"
    )
    if name != "owner":
        user.groups.set([Group.objects.get(name=name)])
    tokens[name] = Token.objects.create(user=user).key
print("TOKENS=" + json.dumps(tokens))
""" % (PERSONAS,)  # noqa: UP031 - a literal tuple inside generated code


COLLECT = """
import json
from jobs.backends import get_backend
from jobs.collector import collect
from topology_editor.models import Deployment
print("PAYLOAD=" + json.dumps(collect(Deployment.objects.get(name=%r), get_backend())))
"""
#: Appended to the example's topic names: a `./dev up` on the same broker runs the example as is.
RUN_ID = uuid.uuid4().hex[:8]


@dataclass
class Server:
    url: str
    tokens: dict[str, str]
    env: dict[str, str]

    def manage(self, *args: str) -> str:
        """Runs ``manage.py`` against the server's database, Redis and local backend state."""
        command = [sys.executable, str(ROOT / "manage.py"), *args]
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def reconcile(self, name: str) -> str:
        """One real reconcile pass (``manage.py reconcile``) on the local backend: no Celery
        worker runs in these tests, so this stands in for the one the save queued."""
        return self.manage("reconcile", name)

    def collect(self, name: str) -> dict[str, Any]:
        """One real collection of ``name`` (the payload Celery beat's task publishes)."""
        return json.loads(self.manage("shell", "-c", COLLECT % name).split("PAYLOAD=", 1)[1])

    def api(self, persona: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Token {self.tokens[persona]}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kwargs)


@pytest.fixture(scope="session")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    database = f"invoker_browser_{uuid.uuid4().hex[:10]}"
    postgres_admin(f'CREATE DATABASE "{database}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    workdir = tmp_path_factory.mktemp("browser-server")
    # Everything the server and its manage.py calls keep is theirs alone: no runtime runs the
    # pods of this state directory (the tests count on that), and nothing here is a `./dev up`'s.
    env = {
        **os.environ, "DATABASE_URL": f"{base}/{database}", "REDIS_URL": redis_url, "DEBUG": "1",
        "INVOKER_DATA_DIR": str(workdir), "INVOKER_LOCAL_STATE_DIR": str(workdir / "local-runtime"),
        "DJANGO_SETTINGS_MODULE": "invoker_web.settings",
    }  # fmt: skip
    log_path = workdir / "server.log"
    process = None
    try:
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
        setup = subprocess.run(
            [*manage, "shell", "-c", SETUP_PERSONAS],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        tokens = json.loads(setup.stdout.split("TOKENS=", 1)[1])
        port = free_port()
        log = log_path.open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "invoker_web.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--ws", UVICORN_WS],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_for_health(url, process, log_path)
        yield Server(url, tokens, env)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        postgres_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}; install it with `./dev start chromium`")
    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def login(browser: Browser, server: Server) -> Iterator[Callable[[str], Page]]:
    """``login("editor")``: a page in a fresh browser context, signed in as that persona."""
    contexts = []

    def sign_in(persona: str) -> Page:
        context = browser.new_context(viewport={"width": 1500, "height": 950})
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{server.url}/accounts/login/")
        page.fill("input[name=username]", persona)
        page.fill("input[name=password]", f"{persona}-password")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        return page

    yield sign_in
    for context in contexts:
        context.close()


@pytest.fixture
def example(server: Server) -> Callable[..., dict[str, Any]]:
    """``example(name, mutate=None)``: imports the word-count example under ``name``, with topics
    of this run."""
    import yaml

    def create(name: str, mutate: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        manifest = yaml.safe_load((ROOT / "examples" / "word-count.yaml").read_text())
        manifest["metadata"]["name"] = name
        for entity in manifest["spec"]["statefulEntities"]:
            entity["inputTopic"] = f"{entity['inputTopic']}-{RUN_ID}"
            entity["outputTopic"] = f"{entity['outputTopic']}-{RUN_ID}"
        if mutate:
            mutate(manifest)
        response = server.api("owner", "POST", "/api/deployments/", json=manifest)
        assert response.status_code == 201, response.text
        return response.json()

    return create


def create_deployment(server: Server, name: str, entities: list[dict[str, Any]]) -> None:
    """Creates ``name`` with ``entities`` through the API, as its owner."""
    manifest = {
        "apiVersion": "invokeroperator.invoker.io/v1alpha1", "kind": "InvokerDeployment",
        "metadata": {"name": name}, "spec": {"statefulEntities": entities},
    }  # fmt: skip
    response = server.api("owner", "POST", "/api/deployments/", json=manifest)
    assert response.status_code == 201, response.text


def without_broker(example: Callable[..., dict[str, Any]], name: str) -> str:
    """Creates the example as ``name`` with every entity's broker at a loopback port nothing
    listens on (an outage that touches no shared service); returns that address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"

    def unreachable(manifest: dict[str, Any]) -> None:
        for entity in manifest["spec"]["statefulEntities"]:
            entity["ioAddress"] = address

    example(name, unreachable)
    return address


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def publish(payload: dict[str, Any]) -> None:
    """Sends ``payload`` to its deployment's metrics group as the collector does
    (``jobs.collector.publish``), from a thread of its own: Playwright's sync API keeps an event
    loop in this one, where ``async_to_sync`` refuses to run."""
    from jobs.collector import publish as collector_publish

    in_own_thread(collector_publish, payload, timeout=30)


def shown_after_publishing(page: Page, payload: dict[str, Any], selector: str, text: str) -> None:
    """Publishes ``payload`` once the page's websocket is open, until ``selector`` shows ``text``.

    A payload sent while the socket is not subscribed is lost (in production the collector sends
    a fresh one every 2 s), so each attempt first waits for the socket to be open; under load the
    deadlines are long, and nothing here waits on a fixed delay."""
    from playwright.sync_api import expect

    connection = page.locator("#conn[data-state=open]")
    shown = page.locator(selector)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        expect(connection).to_have_count(1, timeout=30_000)
        publish(payload)
        try:
            expect(shown).to_have_text(text, timeout=5_000)
            return
        except AssertionError:
            continue  # the socket closed and reopened meanwhile: send it again
    raise AssertionError(f"the page never showed {text!r} at {selector}; it shows {shown.all_inner_texts()}")


def collected_until(page: Page, server: Server, name: str, revision: str) -> None:
    """One real collection of ``name``, published until the page's status names ``revision`` as
    the one being rolled out. No pod runtime runs the server's state directory, so it stays the
    next revision, with the pods not ready, rather than becoming current."""
    payload = server.collect(name)
    assert payload["status"]["nextRevision"] == revision, payload["status"]
    shown_after_publishing(page, payload, "#status [data-status=nextRevision]", revision)
