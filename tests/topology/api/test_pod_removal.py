"""Removing a pod never drops a partition (issue 16, item 3): ``DELETE .../pods/{pod}/`` and a
rebalance's ``removed`` pods hand their partitions to the other pods first (one revision), and
the pod goes by a second revision only once the new owners consume them; the last pod of an
entity that owns partitions is refused, naming why, and nothing changes."""

from unittest import mock

import pytest

from orchestrator.planning.rebalance import Move
from tests.topology.api.test_rebalance_load import measured  # noqa: F401 (a fixture used below)
from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error, scale_out_totals, totals_partitions
from topology_editor.models import AuditEntry, Deployment
from topology_editor.services import handover
from topology_editor.services.drain import finish_drain

#: What the new owners report once they consume totals-2's partitions 4 and 5.
TAKEN = {"totals-0": {0: 1, 1: 1, 4: 1}, "totals-1": {2: 1, 3: 1, 5: 1}}
HANDED = [Move(4, "totals-2", "totals-0"), Move(5, "totals-2", "totals-1")]


def pod_url(pod: str, entity: str = "totals") -> str:
    return deployment_url(EXAMPLE_NAME, "entities", entity, "pods", pod)


@pytest.fixture
def three_pods(api, example) -> Deployment:
    """``totals`` over three pods: [0, 1], [2, 3], [4, 5] (version 4)."""
    scale_out_totals(EXAMPLE_NAME)
    rebalance = deployment_url(EXAMPLE_NAME, "entities", "totals", "rebalance")
    assert api("operator").post(rebalance, {}, format="json").status_code == 200
    return Deployment.objects.get()


@pytest.fixture
def queued() -> mock.MagicMock:
    """What is sent to ``jobs.finish_drain`` (by name, through the Celery app) on commit."""
    with mock.patch.object(handover.current_app, "send_task") as send_task:
        yield send_task


def finish_drains(queued: mock.MagicMock) -> dict[str, list[list[object]]]:
    """Each queued ``jobs.finish_drain``: the drained pod and its moves."""
    calls = [c for c in queued.call_args_list if c.args[0] == "jobs.finish_drain"]
    return {c.kwargs["args"][2]: c.kwargs["args"][3] for c in calls}


def test_deleting_a_pod_that_owns_partitions_drains_it_first(
    api, three_pods, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api("editor").delete(pod_url("totals-2"), HTTP_IF_MATCH='"4"')

    body = response.json()
    assert response.status_code == 202, body
    assert (body["pod"], body["then"], body["changed"]) == ("totals-2", "remove", True)
    assert body["moves"] == [
        {"partition": 4, "from_pod": "totals-2", "to_pod": "totals-0"},
        {"partition": 5, "from_pod": "totals-2", "to_pod": "totals-1"},
    ]
    assert response["ETag"] == '"5"'
    # The handover revision keeps the pod, owning nothing, until its partitions are taken over.
    assert totals_partitions() == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5), "totals-2": ()}
    assert finish_drains(queued) == {"totals-2": [[4, "totals-0"], [5, "totals-1"]]}

    assert finish_drain(EXAMPLE_NAME, "totals", "totals-2", HANDED, TAKEN, "drain") == "removed"
    assert totals_partitions() == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5)}
    summaries = list(
        AuditEntry.objects.filter(action="drain").order_by("id").values_list("summary", flat=True)
    )
    assert summaries[0].startswith("draining totals-2 of totals: moved partition 4 of totals")
    assert summaries[1].startswith("removed drained pod totals-2 of totals")


def test_deleting_a_pod_that_owns_nothing_removes_it_at_once(api, example, queued):
    scale_out_totals(EXAMPLE_NAME)

    response = api("editor").delete(pod_url("totals-1"))

    assert response.status_code == 204
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5), "totals-2": ()}
    assert finish_drains(queued) == {}


def test_deleting_the_last_pod_that_owns_partitions_is_refused_naming_why(api, example, queued):
    before = (Deployment.objects.get().resource_version, AuditEntry.objects.count())

    response = api("editor").delete(pod_url("totals-0"))

    assert error(response) == (409, "conflict", [])
    message = response.json()["error"]["message"]
    assert "last pod of entity 'totals'" in message
    assert "owns partitions 0, 1, 2, 3, 4, 5" in message
    assert (Deployment.objects.get().resource_version, AuditEntry.objects.count()) == before
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5)}


def test_a_stale_delete_is_refused_and_drains_nothing(api, three_pods, queued):
    response = api("editor").delete(pod_url("totals-2"), HTTP_IF_MATCH='"3"')

    assert error(response)[:2] == (412, "stale_version")
    assert totals_partitions() == {"totals-0": (0, 1), "totals-1": (2, 3), "totals-2": (4, 5)}


def test_rebalance_keeps_removed_pods_owning_nothing_until_taken_over(
    api, three_pods, queued, django_capture_on_commit_callbacks
):
    url = deployment_url(EXAMPLE_NAME, "entities", "totals", "rebalance")
    with django_capture_on_commit_callbacks(execute=True):
        response = api("operator").post(url, {"removed": ["totals-2"]}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert body["assignment"] == {"totals-0": [0, 1, 4], "totals-1": [2, 3, 5]}
    assert totals_partitions() == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5), "totals-2": ()}
    assert finish_drains(queued) == {"totals-2": [[4, "totals-0"], [5, "totals-1"]]}

    assert finish_drain(EXAMPLE_NAME, "totals", "totals-2", HANDED, TAKEN, "rebalance") == "removed"
    assert totals_partitions() == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5)}


def test_a_dry_run_with_removed_pods_queues_nothing(
    api, three_pods, queued, django_capture_on_commit_callbacks
):
    url = deployment_url(EXAMPLE_NAME, "entities", "totals", "rebalance")
    with django_capture_on_commit_callbacks(execute=True):
        response = api("operator").post(url, {"removed": ["totals-2"], "dry_run": True}, format="json")

    assert response.status_code == 200
    assert totals_partitions() == {"totals-0": (0, 1), "totals-1": (2, 3), "totals-2": (4, 5)}
    assert finish_drains(queued) == {}


@pytest.mark.usefixtures("measured")
def test_rebalance_by_load_keeps_removed_pods_until_taken_over(
    api, three_pods, queued, django_capture_on_commit_callbacks
):
    url = deployment_url(EXAMPLE_NAME, "entities", "totals", "rebalance", "load")
    with django_capture_on_commit_callbacks(execute=True):
        response = api("operator").post(url, {"removed": ["totals-2"]}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    pods = totals_partitions()
    assert pods["totals-2"] == ()
    assert sorted(pods["totals-0"] + pods["totals-1"]) == [0, 1, 2, 3, 4, 5]
    handed = finish_drains(queued)["totals-2"]
    assert sorted(p for p, _ in handed) == [4, 5]
    assert all(p in pods[str(to)] for p, to in handed)


def test_removing_a_pod_that_owns_nothing_in_a_rebalance_needs_no_drain(
    api, example, queued, django_capture_on_commit_callbacks
):
    scale_out_totals(EXAMPLE_NAME)
    url = deployment_url(EXAMPLE_NAME, "entities", "totals", "rebalance")
    with django_capture_on_commit_callbacks(execute=True):
        api("operator").post(url, {"removed": ["totals-2"]}, format="json")

    assert totals_partitions() == {"totals-0": (0, 1, 2), "totals-1": (3, 4, 5)}
    assert finish_drains(queued) == {}


def test_a_whole_spec_save_that_leaves_a_pod_out_hands_its_partitions_over_first(
    api, three_pods, queued, django_capture_on_commit_callbacks
):
    """A PUT (or an import) without totals-2, its partitions given to the others: the same
    handover as a DELETE, so no partition is dropped while the new owners start."""
    manifest = api("editor").get(deployment_url(EXAMPLE_NAME)).json()
    totals = next(e for e in manifest["spec"]["statefulEntities"] if e["name"] == "totals")
    pods = {pod["name"]: pod for pod in totals["pods"]}
    pods["totals-0"]["partitions"] = [0, 1, 4]
    pods["totals-1"]["partitions"] = [2, 3, 5]
    totals["pods"] = [pods["totals-0"], pods["totals-1"]]

    with django_capture_on_commit_callbacks(execute=True):
        url = deployment_url(EXAMPLE_NAME)
        response = api("editor").put(url, manifest, format="json", HTTP_IF_MATCH='"4"')

    assert response.status_code == 200, response.json()
    assert totals_partitions() == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5), "totals-2": ()}
    assert finish_drains(queued) == {"totals-2": [[4, "totals-0"], [5, "totals-1"]]}
    assert finish_drain(EXAMPLE_NAME, "totals", "totals-2", HANDED, TAKEN, "update") == "removed"
    assert totals_partitions() == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5)}
