"""The web server the benchmarks measure: Uvicorn on a SQLite database of its own.

One copy for every benchmark that needs the real ASGI application (editor_open, hostile_input,
import_speed through it, ws_fanout): migrate, run a setup snippet in ``manage.py shell`` (users,
tokens, sessions; what it prints is handed back), start Uvicorn on a free loopback port and wait
for ``/healthz``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from invoker_web.websocket_protocol import UVICORN_WS

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    #: What the setup snippet printed.
    setup_output: str
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    workdir: Path, setup: str, extra_env: dict[str, str] | None = None, wait_s: float = 60, root: Path = ROOT
) -> Server:
    """Uvicorn serving ``invoker_web.asgi`` on a SQLite database in ``workdir``, after running
    ``setup`` in ``manage.py shell``; exits the benchmark with the server's log if it never answers.
    ``root`` is the checkout whose code the server runs (another one measures a before/after)."""
    env = {
        **os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}", "INVOKER_DATA_DIR": str(workdir),
        "DEBUG": "1", "SECRET_KEY": os.environ.get("SECRET_KEY", "django-insecure-benchmark-only"),
        **(extra_env or {}),
    }  # fmt: skip
    manage = [sys.executable, str(root / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=root, env=env, check=True, capture_output=True)
    out = subprocess.run(
        [*manage, "shell", "-c", setup], cwd=root, env=env, check=True, capture_output=True, text=True
    )
    port, log = free_port(), workdir / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "invoker_web.asgi:application", "--port", str(port),
         "--log-level", "warning", "--backlog", "4096", "--ws", UVICORN_WS],
        cwd=root, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return Server(process, url, out.stdout, log)
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"the server did not answer /healthz; see {log}:\n{log.read_text()[-2000:]}")
