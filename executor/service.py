"""What every container process does around its real work: logging, signals, start counting.

SIGTERM reaches all three containers of a pod at once. The io sidecar needs the other two to
commit its last batch, so a socket server drains: it keeps answering until its clients hang up
(the io sidecar closes after its final commit), then exits.

Restarts are counted in the shared socket directory (an emptyDir): it survives a container's
restart but not the pod's, which is exactly Kubernetes' notion of a container restart count.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from executor.protocol import Server
from podcontract import env as names

log = logging.getLogger(__name__)
CONTAINERS = ("io", "state", "udf")


def configure_logging(container: str) -> None:
    """Logs to stderr (the container log); SIGUSR1 dumps every thread's stack, for a stuck process."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    level = os.environ.get(names.LOG_LEVEL_ENV, "INFO").upper()
    pod = os.environ.get(names.POD_NAME, "-")
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format=f"%(asctime)s {pod}/{container} %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    # The Kubernetes pod's own name (with the ReplicaSet's hash) is what `kubectl logs` and events
    # use; said once, so a log line with the spec's pod name can be traced to it.
    log.info("%s container of pod %s", container, os.environ.get(names.KUBERNETES_POD_NAME, pod))


def stop_event() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so loops can finish their batch instead of dying in it."""
    event = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        log.info("received %s; shutting down gracefully", signal.Signals(signum).name)
        event.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return event


def record_start(socket_dir: Path, container: str) -> int:
    """Counts this start of `container` in the pod; returns how many restarts preceded it."""
    path = socket_dir / "starts" / container
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        starts = int(path.read_text() or "0") + 1
    except (FileNotFoundError, ValueError):
        starts = 1
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(starts))
    tmp.replace(path)
    return starts - 1


def read_restarts(socket_dir: Path) -> dict[str, int]:
    """Restarts per container of this pod, as counted by record_start."""
    counts = {}
    for container in CONTAINERS:
        try:
            counts[container] = max(0, int((socket_dir / "starts" / container).read_text()) - 1)
        except (FileNotFoundError, ValueError):
            counts[container] = 0
    return counts


def serve(server: Server, name: str, drain_seconds: float) -> None:
    """Serves until SIGTERM, then until the clients disconnect (or `drain_seconds` pass)."""
    stop = stop_event()
    thread = threading.Thread(target=server.serve_forever, name=f"{name}-accept", daemon=True)
    thread.start()
    log.info("%s listening on %s", name, server.server_address)
    stop.wait()
    if not server.idle.wait(drain_seconds):
        log.warning("%s: clients still connected after %.0fs; exiting anyway", name, drain_seconds)
    server.close()
    log.info("%s stopped", name)
