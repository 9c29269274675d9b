"""A pod removed by hand (``services.drain.remove_pod``, the API's DELETE) or by a rebalance's
``removed`` goes only after ``jobs.finish_drain`` has read, from the new owners' real Prometheus
endpoints, that they consume every partition it owned."""

import pytest

from jobs import drain
from tests.jobs import test_drain_task
from tests.jobs.test_drain_task import NAME, PodsBackend
from topology_editor import services
from topology_editor.models import Interface
from topology_editor.services.drain import remove_pod
from topology_editor.spec_rows import spec_from_rows

CLI = {"actor": None, "interface": Interface.CLI}
#: The real Prometheus endpoints of totals-0 and totals-1 (the drain task's own tests' fixture).
endpoints = test_drain_task.endpoints


def pods(deployment) -> dict[str, tuple[int, ...]]:
    return {p.name: p.partitions for p in spec_from_rows(deployment).entity("totals").pods}


@pytest.fixture
def three_pods(deployment):
    for pod in ("totals-1", "totals-2"):
        services.add_pod(NAME, "totals", {"name": pod}, **CLI)
    services.rebalance_entity(NAME, "totals", **CLI)
    return deployment


@pytest.fixture
def polled(endpoints, monkeypatch):
    """``jobs.finish_drain`` reading the real endpoints; its re-queues are kept, not sent."""
    monkeypatch.setattr(drain, "get_backend", lambda: PodsBackend(endpoints["urls"]))
    sent: list[dict] = []
    monkeypatch.setattr(drain.finish_drain_task, "apply_async", lambda **kw: sent.append(kw))
    return sent


def test_a_pod_removed_by_hand_goes_once_its_partitions_are_consumed(three_pods, endpoints, polled):
    removal = remove_pod(NAME, "totals", "totals-2", **CLI)
    moves = [[m.partition, m.to_pod] for m in removal.drain.plan.moves]
    assert moves == [[4, "totals-0"], [5, "totals-1"]]
    assert pods(three_pods)["totals-2"] == ()

    endpoints["totals-0"].labels("4").set(1)
    endpoints["totals-1"].labels("5").set(0)  # totals-2 has not released it yet
    assert drain.finish_drain_task(NAME, "totals", "totals-2", moves, "drain") == "waiting"
    assert "totals-2" in pods(three_pods)

    endpoints["totals-1"].labels("5").set(1)
    assert drain.finish_drain_task(NAME, "totals", "totals-2", moves, "drain") == "removed"
    assert pods(three_pods) == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5)}


def test_a_pod_removed_by_a_rebalance_goes_once_its_partitions_are_consumed(
    three_pods,
    endpoints,
    polled,
):
    services.rebalance_entity(NAME, "totals", removed=["totals-2"], **CLI)
    assert pods(three_pods) == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5), "totals-2": ()}
    moves = [[4, "totals-0"], [5, "totals-1"]]

    assert drain.finish_drain_task(NAME, "totals", "totals-2", moves, "rebalance") == "waiting"
    for pod, partition in (("totals-0", "4"), ("totals-1", "5")):
        endpoints[pod].labels(partition).set(1)
    assert drain.finish_drain_task(NAME, "totals", "totals-2", moves, "rebalance") == "removed"
    assert pods(three_pods) == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5)}


def test_the_last_pod_owning_partitions_is_not_removed(deployment):
    with pytest.raises(services.ConflictError, match="last pod of entity 'totals'"):
        remove_pod(NAME, "totals", "totals-0", **CLI)
    assert pods(deployment) == {"totals-0": (0, 1, 2, 3, 4, 5)}
