"""The reconcile phases against the local backend and a runtime: the status the Deployment
controller would report (generation, updated and available replicas) is what lets a reconcile
reach Ready and replace pods one at a time."""

from __future__ import annotations

from pathlib import Path

from orchestrator import parse_deployment
from orchestrator.local import LocalBackend
from orchestrator.local.runtime import Runtime
from orchestrator.reconciler.reconcile import ReconcileResult, Target, reconcile
from tests.orchestrator.local.helpers import manifest, sync_until

PODS = {"e-0": [0], "e-1": [1], "e-2": [2]}


def _reconcile_until_ready(
    backend: LocalBackend, runtime: Runtime, source: dict, number: int
) -> list[ReconcileResult]:
    target = Target(parse_deployment(source), f"rev-{number}", number, "redis://127.0.0.1:16379/0")
    results: list[ReconcileResult] = []

    def ready() -> bool:
        results.append(reconcile(target, backend))
        last = results[-1]
        assert last.error is None, last.error
        return last.status.get("state") == "Ready" and not last.changes and not last.held

    sync_until(runtime, ready, 30, "the deployment to be Ready")
    return results


def test_a_reconcile_reaches_ready_and_then_writes_nothing(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    _reconcile_until_ready(backend, runtime, manifest(pods=PODS), 1)
    assert {pod.phase for pod in backend.observe("demo").pods} == {"Running"}
    target = Target(parse_deployment(manifest(pods=PODS)), "rev-1", 1, "redis://127.0.0.1:16379/0")
    assert reconcile(target, backend).writes == 0


def test_an_image_change_replaces_the_pods_one_at_a_time(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    _reconcile_until_ready(backend, runtime, manifest(pods=PODS), 1)
    before = {pod.pod: pod.uid for pod in backend.observe("demo").pods}
    results = _reconcile_until_ready(backend, runtime, manifest(executor="test/watcher:2", pods=PODS), 2)
    rolled = [change.name for result in results for change in result.changes if change.action == "roll"]
    assert len(rolled) == 3
    assert all(sum(c.action == "roll" for c in result.changes) <= 1 for result in results)
    after = {pod.pod: pod.uid for pod in backend.observe("demo").pods}
    assert set(after) == set(before)
    assert not set(after.values()) & set(before.values())
