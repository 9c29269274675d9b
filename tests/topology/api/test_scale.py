"""POST /api/deployments/{name}/entities/{entity}/scale/: an entity brought to N pods in one
step, the new pods and the fewest partition moves as one revision (trigger ``scale``), the
plan alone with ``dry_run``; scaling in drains the removed pods (their partitions move first,
the pods go once taken over), and bad input changes nothing."""

from collections.abc import Callable, Iterator
from unittest import mock

import pytest

from orchestrator.planning.rebalance import Move
from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error, totals_partitions
from topology_editor.models import AuditEntry, Deployment
from topology_editor.services import handover
from topology_editor.services.drain import finish_drain

URL = deployment_url(EXAMPLE_NAME, "entities", "totals", "scale")
ALL = set(range(6))


def owned(assignment: dict[str, tuple[int, ...]]) -> list[int]:
    """Every partition owned, with repeats: a partition dropped or owned twice shows."""
    return sorted(p for partitions in assignment.values() for p in partitions)


@pytest.fixture
def queued() -> Iterator[Callable[[], list[list[object]]]]:
    """The arguments of what is sent to ``jobs.finish_drain`` (by name, through the Celery app)."""
    with mock.patch.object(handover.current_app, "send_task") as send_task:
        yield lambda: [c.kwargs["args"] for c in send_task.call_args_list if c.args[0] == "jobs.finish_drain"]


@pytest.fixture
def three_pods(api, example) -> Deployment:
    """``totals`` scaled out to three pods through the endpoint: [0, 1], [2, 3], [4, 5] (version 2)."""
    response = api("operator").post(URL, {"pods": 3}, format="json")
    assert response.status_code == 200, response.json()
    return Deployment.objects.get()


def test_the_dry_run_shows_the_plan_and_changes_nothing(api, example, reconciles):
    for url, body in ((URL, {"pods": 3, "dry_run": True}), (URL + "?dry_run=1", {"pods": 3})):
        response = api("operator").post(url, body, format="json")
        data = response.json()
        assert response.status_code == 200, data
        assert (data["dry_run"], data["changed"], data["resource_version"]) == (True, False, 1)
        assert (data["pods_before"], data["pods_after"]) == (1, 3)
        assert (data["added"], data["removed"], data["draining"]) == (["totals-1", "totals-2"], [], [])
        assert data["moves"] == [
            {"partition": p, "from_pod": "totals-0", "to_pod": to}
            for p, to in ((2, "totals-1"), (3, "totals-1"), (4, "totals-2"), (5, "totals-2"))
        ]
        assert data["assignment"] == {"totals-0": [0, 1], "totals-1": [2, 3], "totals-2": [4, 5]}
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5)}
    assert example.revisions.count() == 1
    reconciles.assert_not_called()


def test_scaling_out_adds_the_pods_and_the_moves_as_one_revision_with_the_trigger_scale(
    api, example, django_capture_on_commit_callbacks, reconciles, queued
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api("operator").post(URL, {"pods": 3}, format="json", HTTP_IF_MATCH='"1"')

    data = response.json()
    assert (response.status_code, data["dry_run"], data["changed"], data["resource_version"]) == (
        200,
        False,
        True,
        2,
    )
    assert totals_partitions() == {"totals-0": (0, 1), "totals-1": (2, 3), "totals-2": (4, 5)}
    assert example.revisions.count() == 2
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == "scale"
    assert (
        entry.summary
        == "scaled totals out from 1 to 3 pod(s) (added totals-1, totals-2): 4 partition(s) moved"
    )
    reconciles.assert_called_once()
    assert "(scale by operator" in reconciles.call_args.args[1]
    assert queued() == []  # nothing to drain
    # The new pods take the last pod's resources, as the editor's Add pod does not need to.
    pods = {
        p["name"]: p
        for p in api("operator")
        .get(deployment_url(EXAMPLE_NAME))
        .json()["spec"]["statefulEntities"][1]["pods"]
    }
    assert pods["totals-2"].get("resources") == pods["totals-0"].get("resources")


def test_scaling_in_moves_the_removed_pods_partitions_first_and_drains_them(
    api, three_pods, django_capture_on_commit_callbacks, reconciles, queued
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api("operator").post(URL, {"pods": 1, "resource_version": 2}, format="json")

    data = response.json()
    assert response.status_code == 200, data
    assert (data["removed"], data["draining"]) == (["totals-2", "totals-1"], ["totals-1", "totals-2"])
    assert [m["from_pod"] for m in data["moves"]] == ["totals-1", "totals-1", "totals-2", "totals-2"]
    # One revision: the partitions are the remaining pod's, the removed pods stay owning nothing.
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5), "totals-1": (), "totals-2": ()}
    assert three_pods.revisions.count() == 3
    assert AuditEntry.objects.order_by("-id").first().action == "scale"
    reconciles.assert_called_once()
    removals = sorted(args[2:] for args in queued())
    assert removals == [
        ["totals-1", [[2, "totals-0"], [3, "totals-0"]], "scale"],
        ["totals-2", [[4, "totals-0"], [5, "totals-0"]], "scale"],
    ]

    # The second step removes each pod only once the remaining pod consumes what it was given.
    waiting = {"totals-0": {0: 1, 1: 1, 2: 1, 3: 1, 4: 0, 5: 0}}
    handed = [Move(4, "totals-2", "totals-0"), Move(5, "totals-2", "totals-0")]
    assert finish_drain(EXAMPLE_NAME, "totals", "totals-2", handed, waiting, "scale") == "waiting"
    taken = {"totals-0": dict.fromkeys(range(6), 1)}
    assert finish_drain(EXAMPLE_NAME, "totals", "totals-2", handed, taken, "scale") == "removed"
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5), "totals-1": ()}
    assert owned(totals_partitions()) == sorted(ALL)


def test_the_removed_pods_moves_come_before_the_others(api, three_pods, reconciles, queued):
    moves = deployment_url(EXAMPLE_NAME, "moves")
    body = {
        "moves": [
            {"entity": "totals", "partition": p, "to_pod": to}
            for p, to in ((2, "totals-0"), (3, "totals-0"), (4, "totals-1"))
        ]
    }
    assert api("operator").post(moves, body, format="json").status_code == 200
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3), "totals-1": (4,), "totals-2": (5,)}

    data = api("operator").post(URL, {"pods": 2}, format="json").json()

    assert data["removed"] == ["totals-2"]  # of the two owning fewest, the last
    assert data["moves"] == [
        {"partition": 5, "from_pod": "totals-2", "to_pod": "totals-1"},
        {"partition": 3, "from_pod": "totals-0", "to_pod": "totals-1"},
    ]
    assert totals_partitions() == {"totals-0": (0, 1, 2), "totals-1": (3, 4, 5), "totals-2": ()}


def test_scaling_in_removes_a_pod_owning_nothing_at_once(
    api, example, queued, reconciles, django_capture_on_commit_callbacks
):
    add = deployment_url(EXAMPLE_NAME, "entities", "totals", "pods")
    assert api("operator").post(add, {"name": "totals-9"}, format="json").status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        data = api("operator").post(URL, {"pods": 1}, format="json").json()
    assert (data["removed"], data["draining"], data["moves"]) == (["totals-9"], [], [])
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5)}
    assert queued() == []


def test_a_balanced_entity_scaled_to_its_size_changes_nothing(api, three_pods):
    data = api("operator").post(URL, {"pods": 3}, format="json").json()
    assert (data["changed"], data["moves"], data["resource_version"]) == (False, [], 2)
    assert three_pods.revisions.count() == 2


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"pods": 0}, "pods", "min_value"),
        ({"pods": -2}, "pods", "min_value"),
        ({"pods": 7}, "pods", "out_of_range"),
        ({"pods": "many"}, "pods", "invalid"),
        ({}, "pods", "required"),
        ({"pods": 2, "dry_run": "maybe"}, "dry_run", "invalid"),
        ({"pods": 2, "resource_version": "soon"}, "resource_version", "invalid"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api, example, reconciles, body, field, code):
    response = api("operator").post(URL, body, format="json")
    assert error(response) == (400, "invalid_request", [(field, code)])
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5)}
    assert (Deployment.objects.get().resource_version, AuditEntry.objects.count()) == (1, 1)
    reconciles.assert_not_called()


def test_the_bound_is_the_entitys_partition_count(api, example):
    response = api("operator").post(URL, {"pods": 7, "dry_run": True}, format="json")
    message = response.json()["error"]["fields"][0]["message"]
    assert "pods must be at most 6: entity 'totals' has 6 partition(s)" in message
    assert api("operator").post(URL, {"pods": 6, "dry_run": True}, format="json").status_code == 200


def test_a_stale_version_is_refused_and_changes_nothing(api, three_pods):
    for kwargs in ({"HTTP_IF_MATCH": '"1"'}, {}):
        body = {"pods": 1} if kwargs else {"pods": 1, "resource_version": 1}
        response = api("operator").post(URL, body, format="json", **kwargs)
        assert error(response)[:2] == (412, "stale_version")
    assert totals_partitions() == {"totals-0": (0, 1), "totals-1": (2, 3), "totals-2": (4, 5)}


def test_an_unknown_entity_or_deployment_is_not_found(api, example):
    url = deployment_url(EXAMPLE_NAME, "entities", "nope", "scale")
    assert error(api("operator").post(url, {"pods": 1}, format="json"))[:2] == (404, "not_found")
    url = deployment_url("nope", "entities", "totals", "scale")
    assert error(api("operator").post(url, {"pods": 1}, format="json"))[:2] == (404, "not_found")


def test_editors_and_viewers_cannot_scale(api, example):
    for persona in ("viewer", "editor"):
        assert api(persona).post(URL, {"pods": 3}, format="json").status_code == 403
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5)}
