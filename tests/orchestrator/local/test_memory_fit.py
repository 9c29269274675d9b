"""The local backend refuses a topology that cannot fit the machine's memory, before starting
anything, as a permanent reconcile failure; a topology that fits is started as before."""

from __future__ import annotations

from pathlib import Path

from orchestrator import parse_deployment
from orchestrator.local import LocalBackend
from orchestrator.local.memory import POD_MEMORY_BYTES, available_memory, memory_problem
from orchestrator.local.runtime import Runtime
from orchestrator.reconciler.reconcile import Target, reconcile
from tests.orchestrator.local.helpers import manifest, sync_until

STATE_URL = "redis://127.0.0.1:16379/13"


def _pods(count: int) -> dict[str, list[int]]:
    return {f"e-{i}": [i] for i in range(count)}


def _too_many_pods_for_this_machine() -> int:
    available = available_memory()
    assert available is not None, "this test needs Linux's /proc/meminfo"
    return int(available * 1.2) // POD_MEMORY_BYTES + 1  # a margin for memory freed meanwhile


def test_the_available_memory_is_read_from_the_kernel() -> None:
    total = next(
        line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    available = available_memory()
    assert available is not None
    assert 0 < available <= int(total.split()[1]) * 1024


def test_a_topology_that_cannot_fit_is_a_permanent_failure_and_nothing_is_started(
    backend: LocalBackend,
) -> None:
    count = _too_many_pods_for_this_machine()
    target = Target(parse_deployment(manifest(pods=_pods(count))), "rev-1", 1, STATE_URL)

    result = reconcile(target, backend)

    assert result.permanent, result.error
    assert f"needs {count} more local pods" in (result.error or "")
    assert "nothing was started" in (result.error or "")
    assert result.status["state"] == "Failed"
    for kind in ("InvokerDeployment", "Deployment", "ConfigMap"):
        assert backend.store.list_objects(backend.namespace, kind) == []


def test_a_topology_that_fits_is_written_as_before(backend: LocalBackend) -> None:
    target = Target(parse_deployment(manifest(pods=_pods(3))), "rev-1", 1, STATE_URL)
    result = reconcile(target, backend)
    assert result.error is None
    assert len(backend.store.list_objects(backend.namespace, "Deployment")) == 3


def test_the_estimate_per_pod_can_be_given(state_dir: Path) -> None:
    count = _too_many_pods_for_this_machine()
    small = LocalBackend(state_dir, pod_memory_bytes=1024)
    target = Target(parse_deployment(manifest(pods=_pods(count))), "rev-1", 1, STATE_URL)
    assert reconcile(target, small).error is None


def test_pods_already_running_are_not_counted_again(state_dir: Path, runtime: Runtime) -> None:
    """An estimate that lets two new pods fit but not four: two run, then two more are added."""
    available = available_memory()
    assert available is not None
    backend = LocalBackend(state_dir, pod_memory_bytes=available // 3)  # margins for what others use

    def reconciled(count: int) -> None:
        target = Target(parse_deployment(manifest(pods=_pods(count))), f"rev-{count}", count, STATE_URL)
        result = reconcile(target, backend)
        assert result.error is None, result.error

    reconciled(2)
    sync_until(runtime, lambda: len(backend.observe("demo").pods) == 2, 30, "two pods to run")
    reconciled(4)  # four in all would not fit; the two added do
    assert len(backend.store.list_objects(backend.namespace, "Deployment")) == 4


def test_only_the_pods_a_change_adds_are_counted_against_what_is_available() -> None:
    gib = 1024**3
    assert memory_problem(0, available=0) is None
    assert memory_problem(10, available=gib, pod_memory=100 * 1024**2) is None
    assert memory_problem(11, available=gib, pod_memory=100 * 1024**2) == (
        "the topology needs 11 more local pods of about 100 MiB each (1100 MiB), but this machine "
        "has 1024 MiB available (MemAvailable); nothing was started: give it fewer pods, or run it "
        "on Kubernetes"
    )
    assert memory_problem(10**6, available=None) is None  # not Linux: nothing to check against
