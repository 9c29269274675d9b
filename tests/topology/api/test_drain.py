"""POST /api/deployments/{name}/entities/{entity}/pods/{pod}/drain/: the handover revision,
then (once the new owners consume the moved partitions) the removal revision; bad input
changes nothing."""

import pytest

from orchestrator.planning.rebalance import Move
from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error, scale_out_totals, totals_partitions
from topology_editor.models import AuditEntry, Deployment
from topology_editor.services.drain import finish_drain


def url(pod: str, entity: str = "totals") -> str:
    return deployment_url(EXAMPLE_NAME, "entities", entity, "pods", pod, "drain")


@pytest.fixture
def three_pods(api, example) -> Deployment:
    """``totals`` over three pods: [0, 1], [2, 3], [4, 5] (version 4)."""
    scale_out_totals(EXAMPLE_NAME)
    rebalance = deployment_url(EXAMPLE_NAME, "entities", "totals", "rebalance")
    assert api("operator").post(rebalance, {}, format="json").status_code == 200
    return Deployment.objects.get()


def test_draining_hands_the_pods_partitions_over_and_keeps_the_pod_until_taken_over(api, three_pods):
    response = api("operator").post(url("totals-2"), {}, format="json", HTTP_IF_MATCH='"4"')

    body = response.json()
    assert response.status_code == 200, body
    assert (body["changed"], body["then"], body["pod"]) == (True, "remove", "totals-2")
    assert body["moves"] == [
        {"partition": 4, "from_pod": "totals-2", "to_pod": "totals-0"},
        {"partition": 5, "from_pod": "totals-2", "to_pod": "totals-1"},
    ]
    assert totals_partitions() == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5), "totals-2": ()}
    entry = AuditEntry.objects.filter(action="drain").get()
    assert entry.summary.startswith("draining totals-2 of totals: moved partition 4 of totals")

    moves = [Move(4, "totals-2", "totals-0"), Move(5, "totals-2", "totals-1")]
    waiting = {"totals-0": {0: 1, 1: 1, 4: 1}, "totals-1": {2: 1, 3: 1, 5: 0}}
    assert finish_drain(EXAMPLE_NAME, "totals", "totals-2", moves, waiting, "drain") == "waiting"
    assert "totals-2" in totals_partitions()

    taken = {"totals-0": {0: 1, 1: 1, 4: 1}, "totals-1": {2: 1, 3: 1, 5: 1}}
    assert finish_drain(EXAMPLE_NAME, "totals", "totals-2", moves, taken, "drain") == "removed"
    assert totals_partitions() == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5)}
    assert AuditEntry.objects.filter(action="drain").count() == 2
    assert finish_drain(EXAMPLE_NAME, "totals", "totals-2", moves, taken, "drain") == "gone"


def test_a_cordoned_pod_stays_owning_nothing(api, three_pods):
    body = api("operator").post(url("totals-0"), {"then": "cordon"}, format="json").json()
    assert body["then"] == "cordon"
    assert totals_partitions() == {"totals-0": (), "totals-1": (0, 2, 3), "totals-2": (1, 4, 5)}


def test_a_pod_given_partitions_again_is_not_removed(api, three_pods):
    api("operator").post(url("totals-2"), {}, format="json")
    move = deployment_url(EXAMPLE_NAME, "move")
    body = {"entity": "totals", "partition": 4, "to_pod": "totals-2"}
    assert api("operator").post(move, body, format="json").status_code == 200
    moves = [Move(4, "totals-2", "totals-0")]
    taken = {"totals-0": {4: 1}}
    assert finish_drain(EXAMPLE_NAME, "totals", "totals-2", moves, taken, "drain") == "refused"
    assert totals_partitions()["totals-2"] == (4,)
    assert AuditEntry.objects.filter(action="drain_refused").count() == 1


@pytest.mark.parametrize(
    ("pod", "entity", "body", "expected"),
    [
        ("nope", "totals", {}, (400, "invalid_request", [("pod", "not_found")])),
        ("totals-0", "totals", {}, (400, "invalid_request", [("pod", "conflict")])),
        ("totals-0", "totals", {"then": "explode"}, (400, "invalid_request", [("then", "invalid_choice")])),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(api, example, pod, entity, body, expected):
    before = (Deployment.objects.get().resource_version, AuditEntry.objects.count())
    response = api("operator").post(url(pod, entity), body, format="json")
    assert error(response) == expected
    assert (Deployment.objects.get().resource_version, AuditEntry.objects.count()) == before
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5)}


def test_an_unknown_entity_is_not_found(api, example):
    assert error(api("operator").post(url("x-0", "nope"), {}, format="json"))[:2] == (404, "not_found")


def test_editors_and_viewers_cannot_drain(api, three_pods):
    for persona in ("viewer", "editor"):
        assert api(persona).post(url("totals-2"), {}, format="json").status_code == 403
    assert totals_partitions() == {"totals-0": (0, 1), "totals-1": (2, 3), "totals-2": (4, 5)}
