"""One container's supervision: back-off, its reset after a stable run, and a command that
cannot even start (a crash of that container, never of the runtime)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.local.process import Backoff, Container
from tests.orchestrator.local.helpers import wait_until


def test_the_back_off_doubles_up_to_its_cap() -> None:
    backoff = Backoff(base=1.0, cap=30.0)
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


@pytest.fixture
def containers(tmp_path: Path) -> Iterator[list[Container]]:
    made: list[Container] = []
    yield made
    for container in made:
        container.signal(signal.SIGKILL)
        wait_until(container.stopped, 10, "the container to stop")


def _container(tmp_path: Path, code: str, made: list[Container]) -> Container:
    made.append(Container("c", [sys.executable, "-c", code], {}, tmp_path, tmp_path / "c.log"))
    return made[-1]


def _supervise_until_restarts(container: Container, backoff: Backoff, restarts: int) -> list[float]:
    delays: list[float] = []

    def restarted() -> bool:
        container.supervise(backoff)
        if container.retry_at is not None and len(delays) == container.restarts:  # once per crash
            delays.append(container.backoff)
        return container.restarts >= restarts

    wait_until(restarted, 20, f"{restarts} restarts")
    return delays


def test_a_run_longer_than_the_stable_time_forgets_earlier_crashes(
    tmp_path: Path, containers: list[Container]
) -> None:
    container = _container(tmp_path, "import time; time.sleep(0.4); raise SystemExit(1)", containers)
    backoff = Backoff(base=0.1, cap=5.0, stable=0.3)
    container.start(backoff)
    delays = _supervise_until_restarts(container, backoff, 3)
    assert set(delays) == {0.1}
    assert container.last_exit == 1


def test_quick_crashes_grow_the_back_off(tmp_path: Path, containers: list[Container]) -> None:
    container = _container(tmp_path, "raise SystemExit(2)", containers)
    backoff = Backoff(base=0.1, cap=5.0, stable=60)
    container.start(backoff)
    delays = _supervise_until_restarts(container, backoff, 3)
    assert delays[:3] == [0.1, 0.2, 0.4]


def test_a_restart_that_exits_again_is_crash_looping_before_the_exit_is_noticed(
    tmp_path: Path, containers: list[Container]
) -> None:
    container = _container(tmp_path, "raise SystemExit(2)", containers)
    backoff = Backoff(base=0.1, cap=5.0, stable=60)
    container.start(backoff)
    _supervise_until_restarts(container, backoff, 1)  # crashed once, restarted
    assert container.process is not None
    container.process.wait(timeout=20)  # exited again; no supervise pass has seen it yet
    assert (container.alive, container.retry_at) == (False, None)
    assert container.crash_looping  # not Running between two crashes


def test_a_command_that_cannot_start_is_a_crash_with_a_message(tmp_path: Path) -> None:
    container = Container("c", ["/nonexistent/binary"], {}, tmp_path, tmp_path / "c.log")
    container.start(Backoff(base=0.1))
    status = container.status()
    assert (status["state"], status["reason"], status["lastExitCode"]) == ("waiting", "CrashLoopBackOff", 127)
    assert "cannot run '/nonexistent/binary'" in status["message"]
