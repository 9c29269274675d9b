"""/api/deployments/{name}/entities/{entity}/autoscale/: the policy and the recommendation
(viewers read, operators change), and approving a recommendation in one click."""

import pytest

from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error, totals_partitions
from topology_editor import partition_rates
from topology_editor.models import AuditEntry, AutoscalePolicy, Deployment

URL = deployment_url(EXAMPLE_NAME, "entities", "totals", "autoscale")
APPLY = deployment_url(EXAMPLE_NAME, "entities", "totals", "autoscale", "apply")


@pytest.fixture
def no_samples(example):
    partition_rates.clear(EXAMPLE_NAME)
    yield example
    partition_rates.clear(EXAMPLE_NAME)


def test_viewers_see_the_defaults_and_operators_store_a_policy(api, no_samples):
    body = api("viewer").get(URL).json()
    assert (body["stored"], body["min_pods"], body["auto"], body["recommendation"]) == (False, 1, False, {})
    response = api("operator").put(URL, {"max_pods": 3, "auto": True}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["max_pods"], response.json()["auto"], response.json()["stored"]) == (
        3,
        True,
        True,
    )
    assert AutoscalePolicy.objects.get().max_pods == 3
    assert AuditEntry.objects.filter(action="autoscale_policy").count() == 1
    assert api("viewer").put(URL, {"max_pods": 5}, format="json").status_code == 403
    assert api("editor").put(URL, {"max_pods": 5}, format="json").status_code == 403


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"min_pods": 5, "max_pods": 2}, [("max_pods", "invalid_value")]),
        ({"utilisation_floor": 0.9}, [("utilisation_floor", "invalid_value")]),
        ({"target_records_per_pod": 0}, [("target_records_per_pod", "invalid_value")]),
        ({"max_step": 0}, [("max_step", "min_value")]),
    ],
)
def test_a_bad_policy_names_the_field_and_stores_nothing(api, no_samples, body, fields):
    response = api("operator").put(URL, body, format="json")
    assert error(response) == (400, "invalid_request", fields)
    assert not AutoscalePolicy.objects.exists()
    assert not AuditEntry.objects.filter(action="autoscale_policy").exists()


def test_an_unknown_entity_is_not_found(api, no_samples):
    url = deployment_url(EXAMPLE_NAME, "entities", "nope", "autoscale")
    assert error(api("viewer").get(url))[:2] == (404, "not_found")


def test_an_operator_approves_a_scale_out_in_one_click(api, no_samples):
    api("operator").put(URL, {"max_pods": 3}, format="json")
    response = api("operator").post(APPLY, {"pods": 3}, format="json")
    assert response.status_code == 200, response.json()
    assert totals_partitions() == {"totals-0": (0, 1), "totals-1": (2, 3), "totals-2": (4, 5)}
    entry = AuditEntry.objects.filter(action="autoscale").get()
    assert entry.summary == "scaled totals out from 1 to 3 pod(s) (totals-1, totals-2): 4 partition(s) moved"
    assert AutoscalePolicy.objects.get().last_scaled_at is not None


def test_approving_a_scale_in_drains_one_pod(api, no_samples):
    api("operator").put(URL, {"max_pods": 3}, format="json")
    api("operator").post(APPLY, {"pods": 3}, format="json")
    response = api("operator").post(APPLY, {"pods": 2}, format="json")
    assert response.status_code == 200, response.json()
    assert totals_partitions() == {"totals-0": (0, 1, 4), "totals-1": (2, 3, 5), "totals-2": ()}
    assert AuditEntry.objects.filter(action="autoscale").count() == 2
    # totals-2 is leaving (drained, removed once its partitions' new owners consume them): a
    # second approval of the same count is refused, not a drain of the drained pod.
    version = Deployment.objects.get().resource_version
    again = error(api("operator").post(APPLY, {"pods": 2}, format="json"))
    assert again == (400, "invalid_request", [("pods", "conflict")])
    assert Deployment.objects.get().resource_version == version


def test_an_approval_at_a_version_that_changed_meanwhile_changes_nothing(api, no_samples):
    api("operator").put(URL, {"max_pods": 3}, format="json")
    version = Deployment.objects.get().resource_version
    stale = api("operator").post(APPLY, {"pods": 3, "resource_version": version - 1}, format="json")
    assert stale.status_code == 412, stale.json()  # precondition failed, as for every versioned write
    assert Deployment.objects.get().resource_version == version
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5)}
    fresh = api("operator").post(APPLY, {"pods": 3, "resource_version": version}, format="json")
    assert fresh.status_code == 200, fresh.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, "required"), ({"pods": 11}, "out_of_range"), ({"pods": 1}, "conflict")],
)
def test_bad_approvals_change_nothing(api, no_samples, body, code):
    version = Deployment.objects.get().resource_version
    assert error(api("operator").post(APPLY, body, format="json")) == (
        400,
        "invalid_request",
        [("pods", code)],
    )
    assert Deployment.objects.get().resource_version == version
    assert api("editor").post(APPLY, {"pods": 2}, format="json").status_code == 403
