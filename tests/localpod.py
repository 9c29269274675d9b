"""Runs a pod's three containers as local processes, for tests and benchmarks.

`PodProcesses` starts, kills and stops the three processes with the pod's shared environment (the
pod contract's variables, ``podcontract.env``); `LocalEntity` writes their ConfigMap with the
contract's kubelet-style `ConfigMapDir` and shapes. This is not the orchestrator's local
backend; it is the smallest harness that behaves alike. It lives in tests/, not in the
executor package, so the executor images ship none of it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from podcontract import env as names
from podcontract.files import MAIN_FILE, pod_file, pod_json
from podcontract.volume import ConfigMapDir

ROOT = Path(__file__).resolve().parent.parent  # the repository
COMMANDS = {
    "state": ["-m", "executor.state_sidecar"],
    "udf": ["-m", "executor.udf_host"],
    "io": ["-m", "executor.io_sidecar"],
}


@dataclass
class PodProcesses:
    """One pod: io sidecar, state sidecar and UDF host sharing an environment and a socket dir."""

    name: str
    udf: str
    config_dir: Path
    work_dir: Path
    metrics_port: int
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def socket_dir(self) -> Path:
        return self.work_dir / f"{self.name}.sock.d"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            names.POD_NAME: self.name,
            names.CONFIG_DIR_ENV: str(self.config_dir),
            names.SOCKET_DIR_ENV: str(self.socket_dir),
            names.METRICS_PORT_ENV: str(self.metrics_port),
            **self.extra_env,
        }

    def start(self) -> None:
        for container in COMMANDS:
            self.start_container(container)

    def start_container(self, container: str) -> None:
        args = [sys.executable, *COMMANDS[container]] + ([self.udf] if container == "udf" else [])
        log = open(self.work_dir / f"{self.name}-{container}.log", "ab")  # noqa: SIM115 (owned by the child)
        self.processes[container] = subprocess.Popen(
            args, env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL to every container, like a node losing the pod."""
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.processes.values():
            proc.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to every container at once, as Kubernetes does; SIGKILL after `timeout`."""
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def crashed(self) -> list[str]:
        return [c for c, p in self.processes.items() if p.poll() is not None]

    def pids(self) -> dict[str, int]:
        return {c: p.pid for c, p in self.processes.items()}

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return scrape(self.metrics_port)


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of a Prometheus endpoint as {(name, sorted labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def metric_sum(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalEntity:
    """An entity's ConfigMap and pods, changed the way the orchestrator changes them."""

    def __init__(
        self, work_dir: Path, main: dict[str, Any], udf: str, extra_env: dict[str, str] | None = None
    ):
        self.work_dir, self.main, self.udf = work_dir, main, udf
        self.extra_env = extra_env or {}
        self.config = ConfigMapDir(work_dir / f"{main['entity']}.config")
        self.pods: dict[str, PodProcesses] = {}
        self.epoch = 0

    def assign(self, assignment: dict[str, list[int]]) -> None:
        """Writes a new assignment at the next epoch, starts added pods and stops removed ones."""
        self.epoch += 1
        files: dict[str, Any] = {MAIN_FILE: self.main}
        for pod, partitions in assignment.items():
            files[pod_file(pod)] = pod_json(pod, partitions, self.epoch)
        self.config.write(files)
        for name in [n for n in self.pods if n not in assignment]:
            self.pods.pop(name).stop()
        for name in [n for n in assignment if n not in self.pods]:
            pod = PodProcesses(
                name, self.udf, self.config.path, self.work_dir, free_port(), dict(self.extra_env)
            )
            pod.start()
            self.pods[name] = pod

    def stop(self) -> None:
        for pod in self.pods.values():
            pod.stop()
        self.pods.clear()
