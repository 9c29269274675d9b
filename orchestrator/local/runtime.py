"""The local runtime: a kubelet for static pods, run once per machine by ``up``.

Every pass (about twice a second) it reads the desired Deployments and ConfigMaps from the
state directory (only when the change token moved, plus a periodic resync), materialises the
ConfigMaps, starts each Deployment's pod, replaces a pod whose template changed (Recreate:
stop, then start), restarts crashed containers with back-off, stops pods whose Deployment is
gone, and writes each pod's status where the backend reads it. A reconcile never waits for
any of this; it sees the outcome on its next observe.

Run: ``python -m orchestrator.local.runtime --state-dir DIR [--images MAP ...]``. SIGTERM or
SIGINT stops every pod (SIGTERM, then SIGKILL after its grace period) and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestrator.local.backend import now_iso
from orchestrator.local.images import IMAGES_ENV, ImageMap, ImageMapError, load_image_map
from orchestrator.local.pods import LocalPod, build_pod
from orchestrator.local.process import Backoff
from orchestrator.local.store import StateDir, StateDirError, exclusive, template_hash, write_json
from orchestrator.local.volumes import ConfigMaps, Desired, Key, read_desired

log = logging.getLogger("orchestrator.local.runtime")
HEARTBEAT_SECONDS = 2.0


class Runtime:
    """The pods of one state directory. Call ``sync`` repeatedly (``run`` does), then ``shutdown``."""

    def __init__(
        self,
        state_dir: Path,
        images: ImageMap,
        backoff: Backoff | None = None,
        env: Mapping[str, str] | None = None,
        resync_seconds: float = 5.0,
    ) -> None:
        self.store = StateDir(Path(state_dir))
        self.images, self.backoff = images, backoff or Backoff()
        self.env = dict(os.environ if env is None else env)
        self.resync_seconds = resync_seconds
        self.pods: dict[Key, LocalPod] = {}
        self.config_maps = ConfigMaps(self.store)
        self._desired, self._token, self._resync_at = Desired(), None, 0.0
        self._written: dict[Key, dict[str, Any]] = {}
        self._beat_at, self._started_at = 0.0, now_iso()
        self._logged: set[str] = set()

    def reset(self) -> None:
        """Start-up: the statuses, sockets and ConfigMap directories of an earlier runtime belong to
        pods that died with it."""
        shutil.rmtree(self.store.root / "pods", ignore_errors=True)
        shutil.rmtree(self.store.socket_root, ignore_errors=True)
        self.config_maps.clear()

    def sync(self) -> None:
        """One pass: desired state in, processes adjusted, statuses out. Never blocks on a pod."""
        desired = self._read_desired()
        in_use = {pod.config_dir for pod in self.pods.values() if pod.config_dir is not None}
        self.config_maps.sync(desired.config_maps, in_use)
        for key, workload in desired.workloads.items():
            try:
                self._sync_pod(key, workload)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self._once(f"Deployment {key[0]}/{key[1]} cannot be run: {exc!r}")
        for key in [key for key in self.pods if key not in desired.workloads]:
            self._stop(key)
        self._report()

    def _once(self, message: str) -> None:
        """Logs a problem that every pass would meet again only the first time."""
        if message not in self._logged:
            self._logged.add(message)
            log.error("%s", message)

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        while not stop.is_set():
            self.sync()
            stop.wait(interval)
        self.shutdown()

    def shutdown(self) -> None:
        """Stops every pod at once (each within its grace period) and withdraws every status."""
        for pod in self.pods.values():
            pod.terminate()
        while self.pods:
            for key in [key for key, pod in self.pods.items() if pod.terminated()]:
                self._forget(key)
            time.sleep(0.05)
        self.store.runtime_file.unlink(missing_ok=True)

    def _read_desired(self) -> Desired:
        token, now = self.store.change_token(), time.monotonic()
        if token == self._token and now < self._resync_at:
            return self._desired
        try:
            self._desired = read_desired(self.store)
        except (StateDirError, OSError) as exc:
            self._once(f"cannot read the desired state, keeping the last one read: {exc}")
            return self._desired
        self._token, self._resync_at = token, now + self.resync_seconds
        return self._desired

    def _sync_pod(self, key: Key, workload: dict[str, Any]) -> None:
        wanted = workload["spec"].get("replicas", 1) != 0
        pod = self.pods.get(key)
        if pod is not None and (
            not wanted or pod.template_hash != template_hash(workload["spec"]["template"])
        ):
            if not self._stop(key):
                return  # Recreate: the new pod starts once the old one has stopped
            pod = None
        if pod is None and wanted:
            pod = self.pods[key] = build_pod(
                self.store, key[0], workload, self.images, self._port(), self.env
            )
            log.info("pod %s created for Deployment %s/%s", pod.name, *key)
            if pod.failure:
                log.error("pod %s cannot run: %s", pod.name, pod.failure[1])
        if pod is not None:
            self._run_pod(pod, workload)

    def _run_pod(self, pod: LocalPod, workload: dict[str, Any]) -> None:
        pod.generation = workload["metadata"].get("generation")
        if pod.started_at is None and pod.failure is None and pod.can_start():
            pod.start(self.backoff)
        pod.supervise(self.backoff)

    def _stop(self, key: Key) -> bool:
        """Asks the pod to stop; True (and the pod forgotten) once all its processes have exited."""
        pod = self.pods[key]
        pod.terminate()
        if not pod.terminated():
            return False
        log.info("pod %s of Deployment %s/%s stopped", pod.name, *key)
        self._forget(key)
        return True

    def _forget(self, key: Key) -> None:
        del self.pods[key]
        self._written.pop(key, None)
        self.store.pod_status_path(*key).unlink(missing_ok=True)

    def _port(self) -> int:
        """A free port for the pod's metrics, kept while the pod lives (container restarts too)."""
        taken = {pod.metrics_port for pod in self.pods.values()}
        while True:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
            if port not in taken:
                return port

    def _report(self) -> None:
        """Writes the statuses that changed, and a heartbeat every HEARTBEAT_SECONDS."""
        for key, pod in self.pods.items():
            status = pod.status()
            if status != self._written.get(key):
                write_json(self.store.pod_status_path(*key), status)
                self._written[key] = status
        now = time.monotonic()
        if now >= self._beat_at:
            beat = {"pid": os.getpid(), "startedAt": self._started_at, "heartbeat": time.time()}
            write_json(self.store.runtime_file, beat)
            self._beat_at = now + HEARTBEAT_SECONDS


@contextmanager
def owned(state_dir: Path) -> Iterator[None]:
    """Holds the directory's runtime lock: two runtimes would start every pod twice."""
    lock = exclusive(StateDir(state_dir).runtime_dir / "runtime.lock")
    try:
        lock.__enter__()
    except BlockingIOError:
        raise SystemExit(f"another local runtime already runs the pods of {state_dir}") from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator.local.runtime", description="Runs the local backend's pods."
    )
    parser.add_argument("--state-dir", type=Path, required=True, help="the local backend's state directory")
    parser.add_argument(
        "--images",
        action="append",
        default=[],
        help=f"an image map (JSON file or inline JSON) over the built-in one; also ${IMAGES_ENV}",
    )
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between sync passes")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("INVOKER_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s local-runtime %(message)s",
    )
    try:
        images = load_image_map([os.environ.get(IMAGES_ENV, ""), *args.images])
    except ImageMapError as exc:
        raise SystemExit(f"invalid image map: {exc}") from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with owned(args.state_dir):
        runtime = Runtime(args.state_dir, images)
        runtime.reset()
        log.info("running the pods of %s (pid %d)", args.state_dir, os.getpid())
        runtime.run(stop, args.interval)
    log.info("stopped")


if __name__ == "__main__":
    main()
