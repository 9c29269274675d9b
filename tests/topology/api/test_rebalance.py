"""POST /api/deployments/{name}/entities/{entity}/rebalance/: an even split, or its plan."""

import pytest

from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error, scale_out_totals, totals_partitions
from topology_editor.models import Deployment

URL = deployment_url(EXAMPLE_NAME, "entities", "totals", "rebalance")


@pytest.fixture
def scaled_out(example) -> Deployment:
    """The example with two more, empty, pods for ``totals``."""
    scale_out_totals(EXAMPLE_NAME)
    return Deployment.objects.get()


def test_a_dry_run_returns_every_move_and_changes_nothing(api, scaled_out, reconciles):
    response = api("operator").post(URL, {"dry_run": True}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert body["dry_run"] is True
    assert body["changed"] is False
    assert body["resource_version"] == 3
    assert body["moves"] == [
        {"partition": p, "from_pod": "totals-0", "to_pod": to} for p, to in
        [(2, "totals-1"), (3, "totals-1"), (4, "totals-2"), (5, "totals-2")]
    ]  # fmt: skip
    assert body["assignment"] == {"totals-0": [0, 1], "totals-1": [2, 3], "totals-2": [4, 5]}
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5), "totals-1": (), "totals-2": ()}
    reconciles.assert_not_called()


def test_rebalancing_applies_the_plan(api, scaled_out, django_capture_on_commit_callbacks, reconciles):
    with django_capture_on_commit_callbacks(execute=True):
        response = api("operator").post(URL, {}, format="json", HTTP_IF_MATCH='"3"')

    body = response.json()
    assert body["dry_run"] is False
    assert body["changed"] is True
    assert len(body["moves"]) == 4
    assert totals_partitions() == {"totals-0": (0, 1), "totals-1": (2, 3), "totals-2": (4, 5)}
    assert scaled_out.revisions.count() == 4
    reconciles.assert_called_once()


def test_removed_pods_hand_their_partitions_over_and_stay_until_taken_over(api, scaled_out):
    api("operator").post(URL, {}, format="json")
    response = api("operator").post(URL, {"removed": ["totals-2"]}, format="json")
    assert {(m["partition"], m["from_pod"]) for m in response.json()["moves"]} == {
        (4, "totals-2"),
        (5, "totals-2"),
    }
    # totals-2 leaves once they are taken over (test_pod_removal.py).
    assert totals_partitions() == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5), "totals-2": ()}


def test_a_balanced_entity_needs_no_moves(api, example, reconciles):
    body = api("operator").post(URL, {}, format="json").json()
    assert (body["moves"], body["changed"]) == ([], False)


def test_removing_an_unknown_pod_is_an_invalid_request(api, scaled_out):
    response = api("operator").post(URL, {"removed": ["splitter-0"]}, format="json")
    assert error(response) == (400, "invalid_request", [("removed", "not_found")])


def test_removing_every_pod_is_an_invalid_request(api, example):
    response = api("operator").post(URL, {"removed": ["totals-0"]}, format="json")
    assert error(response) == (400, "invalid_request", [("removed", "conflict")])


def test_an_unknown_entity_is_not_found(api, example):
    url = deployment_url(EXAMPLE_NAME, "entities", "nope", "rebalance")
    assert error(api("operator").post(url, {"dry_run": True}, format="json"))[:2] == (404, "not_found")


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_stale_version_is_refused_even_for_a_dry_run(api, scaled_out, dry_run):
    response = api("operator").post(URL, {"dry_run": dry_run}, format="json", HTTP_IF_MATCH='"1"')
    assert error(response)[:2] == (412, "stale_version")
    assert totals_partitions()["totals-1"] == ()


@pytest.mark.parametrize("body", [{"dry_run": "maybe"}, {"removed": "totals-0"}])
def test_a_malformed_body_is_an_invalid_request(api, example, body):
    assert error(api("operator").post(URL, body, format="json"))[:2] == (400, "invalid_request")


@pytest.mark.parametrize("persona", ["editor", "viewer", "outsider"])
def test_rebalancing_needs_the_operator_role(api, scaled_out, persona):
    assert error(api(persona).post(URL, {"dry_run": True}, format="json"))[:2] == (403, "permission_denied")
