"""A real server in a subprocess for the tests that need one (the browser tests, the concurrent
writes): a free port, a database of its own on the shared PostgreSQL, and waiting for /healthz."""

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

POSTGRES_URL = os.environ.get(
    "INVOKER_BROWSER_POSTGRES_URL", "postgres://invoker:invoker@127.0.0.1:15432/invoker"
)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_admin(sql: str) -> None:
    """Runs ``sql`` (CREATE/DROP DATABASE) on the shared PostgreSQL; fails the test when it is not up."""
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)
    except psycopg.Error as exc:
        pytest.fail(
            f"PostgreSQL is not usable at {POSTGRES_URL} ({exc}); start it with `./dev start postgres`"
        )


def wait_for_health(url: str, process: subprocess.Popen, log: Path, deadline_s: float = 60) -> None:
    """Returns once ``url``/healthz answers 200; fails with the server's log when it exits or not."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the server did not answer /healthz within {deadline_s}s:\n{log.read_text()[-3000:]}")
