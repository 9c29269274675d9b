"""Test support for the local backend: small topologies converted by the real convert phase,
an image map of tiny real programs, and polling with deadlines."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator import parse_deployment
from orchestrator.local import LocalBackend
from orchestrator.local.images import REPO_ROOT
from orchestrator.local.runtime import Runtime
from orchestrator.reconciler.convert import (
    ConvertContext,
    OwnerRef,
    config_map_name,
    convert,
    root_object,
    workload_name,
)
from tests.polling import wait_until

PROGRAMS = ["{python}", "-m", "tests.orchestrator.local.programs"]
#: The objects convert names for ``manifest()``: its ConfigMap and its first two pods' Deployments.
CONFIG_MAP, POD, POD_1 = (
    config_map_name("demo", "e"),
    workload_name("demo", "e-0"),
    workload_name("demo", "e-1"),
)
#: Overrides the project's images too, so convert's manifests run without Kafka or Redis.
TEST_IMAGES = {
    "test/watcher": [*PROGRAMS, "watcher"],
    "test/server": [*PROGRAMS, "server"],
    "test/crasher": [*PROGRAMS, "crasher"],
    "test/stubborn": [*PROGRAMS, "stubborn"],
}


def manifest(
    name: str = "demo",
    executor: str = "test/watcher:1",
    io: str = "test/server:1",
    state: str = "test/watcher:1",
    pods: dict[str, list[int]] | None = None,
    io_address: str = "127.0.0.1:9092",
) -> dict[str, Any]:
    """An InvokerDeployment with one entity ``e`` whose pods run the given images."""
    pods = pods or {"e-0": [0, 1]}
    entity = {
        "name": "e",
        "executorImage": executor,
        "ioImage": io,
        "stateImage": state,
        "ioAddress": io_address,
        "inputTopic": "in",
        "outputTopic": "out",
        "pods": [{"name": pod, "partitions": partitions} for pod, partitions in pods.items()],
    }
    return {
        "apiVersion": "invokeroperator.invoker.io/v1alpha1",
        "kind": "InvokerDeployment",
        "metadata": {"name": name},
        "spec": {"version": "v1", "statefulEntities": [entity]},
    }


def deploy(backend: LocalBackend, source: dict[str, Any], epoch: int = 1, grace: int | None = None) -> str:
    """Does what a reconcile does: ensures the root, then applies every converted manifest."""
    spec = parse_deployment(source)
    root = backend.ensure_root(root_object(spec, source["spec"], backend.namespace))
    owner = OwnerRef(uid=root["metadata"]["uid"], name=spec.name)
    ctx = ConvertContext(backend.namespace, "rev-1", "redis://127.0.0.1:16379/0", {"e": epoch}, owner)
    for item in convert(spec, ctx):
        if grace is not None and item["kind"] == "Deployment":
            item["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = grace
        backend.apply(item)
    return spec.name


def sync_until(runtime: Runtime, condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Runs sync passes (as the runtime's loop would) until ``condition`` holds."""

    def step() -> Any:
        runtime.sync()
        return condition()

    return wait_until(step, timeout, what)


def status(state_dir: Path, deployment: str, namespace: str = "default") -> dict[str, Any] | None:
    path = state_dir / "pods" / namespace / f"{deployment}.json"
    return json.loads(path.read_text()) if path.exists() else None


def pids(pod: dict[str, Any]) -> dict[str, int | None]:
    return {name: container["pid"] for name, container in pod["containers"].items()}


def pid_alive(pid: int) -> bool:
    """Whether a process runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def running(state_dir: Path, deployment: str) -> dict[str, Any] | None:
    """The pod's status once it is Running and ready, else None."""
    pod = status(state_dir, deployment)
    return pod if pod and pod["phase"] == "Running" and pod["ready"] else None


class RuntimeProcess:
    """``python -m orchestrator.local.runtime`` as ``up`` starts it, with its log in the state dir."""

    def __init__(self, state_dir: Path, images: dict[str, Any] | None, env: dict[str, str]) -> None:
        self.log = state_dir / f"runtime-{time.monotonic_ns()}.log"
        args = [
            sys.executable,
            "-m",
            "orchestrator.local.runtime",
            "--state-dir",
            str(state_dir),
            "--interval",
            "0.1",
        ]
        if images is not None:
            args += ["--images", json.dumps(images)]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                args, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as ``down`` sends it; SIGKILL if the runtime does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the runtime ignored SIGTERM for {timeout}s:\n{self.output()}") from None
