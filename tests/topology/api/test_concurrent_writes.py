"""Concurrent writes through a real server: eight PATCHes with the same If-Match give one 200
and seven 412s on SQLite (the default) as on PostgreSQL, never a 500 "database is locked"; a
write that cannot get the lock in time is a 503 ``busy`` in the API's shape, changing nothing.

Uvicorn runs in a subprocess as in production (one request per thread), on a database of its
own: a SQLite file, or a fresh PostgreSQL database that is dropped afterwards. pytest-django's
live server cannot show this: on SQLite it shares one in-memory connection between threads.
These tests use no pytest-django database fixture, so they are not marked ``db`` and cover
both databases in every run.
"""

import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from invoker_web.websocket_protocol import UVICORN_WS
from tests.servers import POSTGRES_URL, free_port, postgres_admin, wait_for_health
from tests.topology.conftest import EXAMPLE_NAME, EXAMPLE_PATH

ROOT = Path(__file__).resolve().parents[3]
#: The server's DATABASE_LOCK_TIMEOUT_SECONDS: long enough for eight writers in a row on a busy
#: machine, short enough for the test that holds the lock to see the server give up.
LOCK_TIMEOUT_SECONDS = 5
WRITERS = 8
SETUP_EDITOR = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
user = User.objects.create_user("editor", password="editor-password")
user.groups.set([Group.objects.get(name="editor")])
print("TOKEN=" + Token.objects.create(user=user).key)
"""


@dataclass
class Server:
    url: str
    token: str
    database: str
    hold_write_lock: Callable[[], AbstractContextManager[None]]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kwargs)


@contextmanager
def _sqlite_write_lock(path: Path) -> Iterator[None]:
    """Holds SQLite's write lock from another connection, as a long write elsewhere would."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _postgres_row_lock(url: str) -> Callable[[], AbstractContextManager[None]]:
    @contextmanager
    def hold() -> Iterator[None]:
        """Holds the deployment's row lock from another connection, as a long write would."""
        with psycopg.connect(url) as conn:
            conn.execute(
                "SELECT 1 FROM topology_editor_deployment WHERE name = %s FOR UPDATE", [EXAMPLE_NAME]
            )
            yield
            conn.rollback()

    return hold


@contextmanager
def _database(kind: str, workdir: Path) -> Iterator[tuple[str, Callable[[], AbstractContextManager[None]]]]:
    if kind == "sqlite":
        path = workdir / "db.sqlite3"
        yield f"sqlite:///{path}", lambda: _sqlite_write_lock(path)
        return
    name = f"invoker_concurrency_{uuid.uuid4().hex[:10]}"
    postgres_admin(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    try:
        yield url, _postgres_row_lock(url)
    finally:
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp(f"concurrency-{request.param}")
    with _database(request.param, workdir) as (database_url, hold_write_lock):
        env = {
            **os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "DEBUG": "1",
            "SECRET_KEY": "django-insecure-tests-only", "INVOKER_DATA_DIR": str(workdir),
            "DATABASE_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT_SECONDS),
        }  # fmt: skip
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
        setup = subprocess.run(
            [*manage, "shell", "-c", SETUP_EDITOR],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        token = setup.stdout.split("TOKEN=", 1)[1].strip()
        port, log_path = free_port(), workdir / "server.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "invoker_web.asgi:application", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "warning", "--ws", UVICORN_WS],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                url = f"http://127.0.0.1:{port}"
                wait_for_health(url, process, log_path)
                yield Server(url, token, request.param, hold_write_lock)
            finally:
                process.terminate()
                process.wait(timeout=30)


@pytest.fixture
def deployment(server: Server) -> str:
    """The word-count example, imported afresh; its ETag."""
    server.call("DELETE", f"/api/deployments/{EXAMPLE_NAME}/")
    response = server.call(
        "POST",
        "/api/deployments/import/",
        data=EXAMPLE_PATH.read_bytes(),
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    return response.headers["ETag"]


def _patch_all_at_once(server: Server, etag: str) -> list[requests.Response]:
    start = threading.Barrier(WRITERS)
    responses: list[requests.Response] = []

    def patch(limit: int) -> None:
        start.wait()
        body = {"spec": {"historyLimit": limit}}
        responses.append(
            server.call("PATCH", f"/api/deployments/{EXAMPLE_NAME}/", json=body, headers={"If-Match": etag})
        )

    threads = [threading.Thread(target=patch, args=(10 + i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


@pytest.mark.parametrize("attempt", range(3))
def test_eight_writes_with_one_if_match_give_one_success_and_seven_stale_versions(
    server, deployment, attempt
):
    responses = _patch_all_at_once(server, deployment)
    statuses = sorted(response.status_code for response in responses)
    details = [(r.status_code, r.text[:300]) for r in responses if r.status_code not in (200, 412)]
    assert statuses == [200] + [412] * (WRITERS - 1), details
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 412} == {"stale_version"}
    current = server.call("GET", f"/api/deployments/{EXAMPLE_NAME}/")
    assert current.headers["ETag"] == '"2"'
    winner = next(r for r in responses if r.status_code == 200).json()
    assert current.json()["spec"]["historyLimit"] == winner["spec"]["historyLimit"]


def test_a_write_that_cannot_get_the_lock_in_time_is_busy_and_changes_nothing(server, deployment):
    with server.hold_write_lock():
        started = time.monotonic()
        response = server.call(
            "PATCH", f"/api/deployments/{EXAMPLE_NAME}/", json={"spec": {"historyLimit": 9}}
        )
        waited = time.monotonic() - started
    body = response.json()
    assert (response.status_code, body["error"]["code"], body["error"]["fields"]) == (503, "busy", []), body
    assert response.headers["Retry-After"] == "1"
    assert waited >= LOCK_TIMEOUT_SECONDS - 0.5  # it waited for the lock before giving up
    current = server.call("GET", f"/api/deployments/{EXAMPLE_NAME}/")
    assert (current.headers["ETag"], current.json()["spec"]["historyLimit"]) == ('"1"', 5)
    retried = server.call("PATCH", f"/api/deployments/{EXAMPLE_NAME}/", json={"spec": {"historyLimit": 9}})
    assert retried.status_code == 200, retried.text


def test_unconditional_writes_at_the_same_time_all_apply_one_after_another(server, deployment):
    """Imports (what a user saw as a bare "HTTP 500" in the UI while other writes ran) and
    patches without If-Match: every one applies, in some order."""
    start = threading.Barrier(WRITERS)
    responses: list[requests.Response] = []

    def write(i: int) -> None:
        start.wait()
        if i % 2:
            body = EXAMPLE_PATH.read_text().replace("historyLimit: 5", f"historyLimit: {10 + i}")
            yaml = {"Content-Type": "application/yaml"}
            responses.append(server.call("POST", "/api/deployments/import/", data=body, headers=yaml))
        else:
            body = {"spec": {"historyLimit": 10 + i}}
            responses.append(server.call("PATCH", f"/api/deployments/{EXAMPLE_NAME}/", json=body))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [200] * WRITERS, [r.text[:300] for r in responses]
    assert server.call("GET", f"/api/deployments/{EXAMPLE_NAME}/").headers["ETag"] == f'"{1 + WRITERS}"'
