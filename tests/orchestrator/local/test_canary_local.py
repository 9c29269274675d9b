"""A canary on the local backend and its runtime (issue 16, item 5): only the chosen pod is
replaced to run the new image, the others keep running untouched, and the promotion job's
rolled-out test passes for it once the runtime reports it updated and ready; abort replaces it
back."""

from __future__ import annotations

from pathlib import Path

from jobs.canary import rolled_out
from orchestrator import parse_deployment
from orchestrator.local import LocalBackend
from orchestrator.local.runtime import Runtime
from orchestrator.planning.canary import abort_canary, start_canary
from orchestrator.reconciler.convert import workload_name
from orchestrator.reconciler.reconcile import Target, reconcile
from orchestrator.spec.model import DeploymentSpec
from tests.orchestrator.local.helpers import manifest, sync_until

PODS = {"e-0": [0], "e-1": [1], "e-2": [2]}
NEW = "test/watcher:2"


def _ready(backend: LocalBackend, runtime: Runtime, spec: DeploymentSpec, number: int) -> None:
    target = Target(spec, f"rev-{number}", number, "redis://127.0.0.1:16379/0")

    def ready() -> bool:
        result = reconcile(target, backend)
        assert result.error is None, result.error
        return result.status.get("state") == "Ready" and not result.changes and not result.held

    sync_until(runtime, ready, 30, f"revision {number} to be Ready")


def _uids(backend: LocalBackend) -> dict[str, str]:
    return {pod.pod: pod.uid for pod in backend.observe("demo").pods}


def test_a_canary_replaces_only_its_pod_and_abort_replaces_it_back(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    spec = parse_deployment(manifest(pods=PODS))
    _ready(backend, runtime, spec, 1)
    before = _uids(backend)
    assert not rolled_out(backend.observe("demo").get("Deployment", workload_name("demo", "e-1")), NEW)

    canaried = start_canary(spec, "e", ["e-1"], NEW)
    _ready(backend, runtime, canaried, 2)

    after = _uids(backend)
    assert after["e-1"] != before["e-1"]
    assert (after["e-0"], after["e-2"]) == (before["e-0"], before["e-2"])
    observed = backend.observe("demo")
    assert rolled_out(observed.get("Deployment", workload_name("demo", "e-1")), NEW)
    assert not rolled_out(observed.get("Deployment", workload_name("demo", "e-0")), NEW)

    _ready(backend, runtime, abort_canary(canaried, "e"), 3)
    back = _uids(backend)
    assert back["e-1"] != after["e-1"]
    assert (back["e-0"], back["e-2"]) == (before["e-0"], before["e-2"])
