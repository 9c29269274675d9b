"""Tiny real programs that stand in for container images in the runtime's tests, so those tests
do not depend on Kafka or on the executor: ``python -m tests.orchestrator.local.programs NAME``.

- ``watcher``: records its environment, then keeps copying ``$INVOKER_CONFIG_DIR/main.json`` to
  ``$INVOKER_SOCKET_DIR/seen-<pid>.json`` (what the process itself sees of its ConfigMap).
- ``server``: serves a Prometheus-style ``/metrics`` on ``$INVOKER_METRICS_PORT``.
- ``crasher``: exits with status 3 at once.
- ``stubborn``: ignores SIGTERM, so only SIGKILL ends it.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import sys
import time
from pathlib import Path


def _sockets() -> Path:
    return Path(os.environ["INVOKER_SOCKET_DIR"])


def watcher() -> None:
    (_sockets() / f"env-{os.getpid()}.json").write_text(json.dumps(dict(os.environ)))
    source = Path(os.environ["INVOKER_CONFIG_DIR"]) / "main.json"
    while True:
        if source.exists():
            target = _sockets() / f"seen-{os.getpid()}.json"
            tmp = target.with_suffix(".tmp")
            tmp.write_text(source.read_text())
            tmp.replace(target)
        time.sleep(0.05)


class _Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f'test_up{{pod="{os.environ["POD_NAME"]}"}} 1\n'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def server() -> None:
    port = int(os.environ["INVOKER_METRICS_PORT"])
    http.server.HTTPServer(("127.0.0.1", port), _Metrics).serve_forever()


def stubborn() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    (_sockets() / f"stubborn-{os.getpid()}").write_text("ignoring SIGTERM")
    while True:
        time.sleep(0.05)


if __name__ == "__main__":
    if sys.argv[1] == "crasher":
        sys.exit(3)
    {"watcher": watcher, "server": server, "stubborn": stubborn}[sys.argv[1]]()
