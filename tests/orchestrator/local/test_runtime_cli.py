"""The runtime as its own long-running process, the way ``up`` runs it: pods outlive the
reconcile that declared them, and end with the runtime (SIGTERM, or even SIGKILL)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from orchestrator.local import LocalBackend
from tests.orchestrator.local.helpers import (
    POD,
    RuntimeProcess,
    deploy,
    manifest,
    pid_alive,
    pids,
    status,
    wait_until,
)


def _ready_pod(backend: LocalBackend, state_dir: Path, name: str) -> dict:
    def ready() -> dict | None:
        pods = backend.observe(name).pods
        return status(state_dir, POD) if pods and pods[0].phase == "Running" and pods[0].ready else None

    return wait_until(ready, 20, "the pod to be Running and ready")


def test_the_runtime_runs_what_a_reconcile_declared_and_stops_it_all_on_sigterm(
    backend: LocalBackend, state_dir: Path, start_runtime: Callable[..., RuntimeProcess]
) -> None:
    runtime = start_runtime()
    wait_until(backend.runtime_alive, 20, "the runtime's first heartbeat")
    name = deploy(backend, manifest())
    pod = _ready_pod(backend, state_dir, name)
    assert runtime.stop() == 0
    assert not any(pid_alive(pid) for pid in pids(pod).values())
    assert backend.observe(name).pods == []
    assert not backend.runtime_alive()


def test_pods_die_with_a_killed_runtime_and_a_new_runtime_starts_them_again(
    backend: LocalBackend, state_dir: Path, start_runtime: Callable[..., RuntimeProcess]
) -> None:
    first = start_runtime()
    name = deploy(backend, manifest())
    pod = _ready_pod(backend, state_dir, name)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    wait_until(
        lambda: not any(pid_alive(pid) for pid in pids(pod).values()), 20, "the orphaned processes to end"
    )
    start_runtime()
    again = wait_until(
        lambda: (s := _ready_pod(backend, state_dir, name)) and s["uid"] != pod["uid"] and s, 20, "a new pod"
    )
    assert all(pid_alive(pid) for pid in pids(again).values())


def test_a_second_runtime_for_the_same_directory_refuses_to_start(
    backend: LocalBackend, start_runtime: Callable[..., RuntimeProcess]
) -> None:
    start_runtime()
    wait_until(backend.runtime_alive, 20, "the first runtime's heartbeat")
    second = start_runtime()
    assert second.process.wait(30) != 0
    assert "another local runtime already runs the pods of" in second.output()


def test_an_invalid_image_map_stops_the_runtime_with_the_reason(
    start_runtime: Callable[..., RuntimeProcess],
) -> None:
    runtime = start_runtime(images={"acme/udf": "not a list"})
    assert runtime.process.wait(30) != 0
    assert "invalid image map" in runtime.output()
    assert "non-empty list of strings" in runtime.output()
