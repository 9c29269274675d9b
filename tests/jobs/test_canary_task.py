"""jobs.promote_canary: the next pod goes to the canary image only once the pod promoted last
runs it rolled out (its workload updated and ready); an aborted canary ends the chain, a pod
that never rolls out stops it, audited."""

from typing import Any

import pytest

from jobs import canary as job
from orchestrator.reconciler.backend import Observed
from orchestrator.reconciler.convert import workload_name
from topology_editor.models import AuditEntry, Interface
from topology_editor.services import canary
from topology_editor.spec_rows import spec_from_rows

NAME = "word-count-demo"
NEW = "invoker/executor-word-count:0.2"
CLI = {"actor": None, "interface": Interface.CLI}


def workload(image: str, ready: int = 1, generation: int = 2, observed: int = 2) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "udf", "image": image}]}}},
        "status": {"observedGeneration": observed, "updatedReplicas": ready, "readyReplicas": ready},
    }


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        (None, False),
        (workload(NEW), True),
        (workload("invoker/executor-word-count:0.1"), False),
        (workload(NEW, ready=0), False),
        (workload(NEW, generation=3, observed=2), False),
    ],
)
def test_a_pod_is_rolled_out_when_its_workload_runs_the_image_updated_and_ready(observed, expected):
    assert job.rolled_out(observed, NEW) is expected


class WorkloadsBackend:
    """What the backend observes of the deployment: the workloads it was given."""

    def __init__(self) -> None:
        self.workloads: dict[str, dict[str, Any]] = {}

    def observe(self, name: str) -> Observed:
        return Observed(objects={"Deployment": dict(self.workloads)})


@pytest.fixture
def backend(monkeypatch) -> WorkloadsBackend:
    found = WorkloadsBackend()
    monkeypatch.setattr(job, "get_backend", lambda: found)
    return found


@pytest.fixture
def requeued(monkeypatch) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(job.promote_canary_task, "apply_async", lambda **kw: sent.append(kw))
    return sent


@pytest.fixture
def promoting(deployment):
    """A canary on splitter-1, promoted to splitter-0 (the job's next step is splitter-2)."""
    canary.start_canary(NAME, "splitter", ["splitter-1"], NEW, **CLI)
    assert canary.promote_canary(NAME, "splitter", follow=False, **CLI).promoted == "splitter-0"
    return deployment


def own_images(deployment) -> dict[str, str | None]:
    return {p.name: p.executor_image for p in spec_from_rows(deployment).entity("splitter").pods}


def test_the_next_pod_is_promoted_only_once_the_last_one_runs_the_image(promoting, backend, requeued):
    backend.workloads[workload_name(NAME, "splitter-0")] = workload(NEW, ready=0)
    assert job.promote_canary_task(NAME, "splitter", "splitter-0", NEW) == "waiting"
    assert own_images(promoting)["splitter-2"] is None
    assert requeued[0]["countdown"] == job.POLL_SECONDS

    backend.workloads[workload_name(NAME, "splitter-0")] = workload(NEW)
    assert job.promote_canary_task(NAME, "splitter", "splitter-0", NEW) == "promoted splitter-2"
    assert own_images(promoting) == {"splitter-0": NEW, "splitter-1": NEW, "splitter-2": NEW}


def test_an_aborted_canary_ends_the_promotion(promoting, backend, requeued):
    canary.abort_canary(NAME, "splitter", **CLI)
    backend.workloads[workload_name(NAME, "splitter-0")] = workload(NEW)
    assert job.promote_canary_task(NAME, "splitter", "splitter-0", NEW) == "stopped"
    assert set(own_images(promoting).values()) == {None}


def test_a_pod_that_never_rolls_out_stops_the_promotion_audited(promoting, backend, requeued):
    long_ago = 0.0
    assert job.promote_canary_task(NAME, "splitter", "splitter-0", NEW, long_ago) == "timeout"
    assert own_images(promoting)["splitter-2"] is None
    assert (
        "splitter-0 did not run the new image in time"
        in AuditEntry.objects.get(action="canary_stopped").summary
    )
