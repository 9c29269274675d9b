"""POST /api/deployments/{name}/move/: partition p of entity e to pod q."""

import pytest

from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error
from topology_editor.api.serializers.actions import MAX_MOVES
from topology_editor.models import AuditEntry, Deployment, Revision
from topology_editor.spec_rows import spec_from_rows

URL = deployment_url(EXAMPLE_NAME, "move")


def _owners() -> dict[str, tuple[int, ...]]:
    spec = spec_from_rows(Deployment.objects.get())
    return {pod.name: pod.partitions for pod in spec.entity("splitter").pods}


def test_moving_a_partition_changes_only_its_owner(
    api, example, django_capture_on_commit_callbacks, reconciles
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api("editor").post(
            URL,
            {"entity": "splitter", "partition": 3, "to_pod": "splitter-0"},
            format="json",
            HTTP_IF_MATCH='"1"',
        )

    body = response.json()
    assert response.status_code == 200, body
    assert body["changed"]
    assert body["resource_version"] == 2
    assert response["ETag"] == '"2"'
    assert body["changes"] == [
        {"path": "spec.statefulEntities[splitter].pods[splitter-0].partitions", "change": "changed",
         "old": [0, 1], "new": [0, 1, 3]},
        {"path": "spec.statefulEntities[splitter].pods[splitter-1].partitions", "change": "changed",
         "old": [2, 3], "new": [2]},
    ]  # fmt: skip
    assert _owners() == {"splitter-0": (0, 1, 3), "splitter-1": (2,), "splitter-2": (4, 5)}
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.summary, entry.actor_name) == (
        "move_partition", "moved partition 3 of splitter from splitter-1 to splitter-0", "editor",
    )  # fmt: skip
    reconciles.assert_called_once()


def test_moving_a_partition_to_its_owner_changes_nothing(
    api, example, django_capture_on_commit_callbacks, reconciles
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api("editor").post(
            URL, {"entity": "splitter", "partition": 3, "to_pod": "splitter-1"}, format="json"
        )
    assert response.json()["changed"] is False
    assert response.json()["resource_version"] == 1
    reconciles.assert_not_called()


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"entity": "nope", "partition": 3, "to_pod": "splitter-0"}, "entity"),
        ({"entity": "splitter", "partition": 3, "to_pod": "totals-0"}, "to_pod"),
        ({"entity": "splitter", "partition": 9, "to_pod": "splitter-0"}, "partition"),
    ],
)
def test_naming_something_that_is_not_there_is_an_invalid_request(api, example, body, path):
    assert error(api("editor").post(URL, body, format="json")) == (
        400,
        "invalid_request",
        [(path, "not_found")],
    )
    assert _owners()["splitter-1"] == (2, 3)


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({}, ["entity", "partition", "to_pod"]),
        ({"entity": "splitter", "partition": "x", "to_pod": "splitter-0"}, ["partition"]),
        ({"entity": "splitter", "partition": -1, "to_pod": "splitter-0"}, ["partition"]),
        (
            {"entity": "splitter", "partition": 3, "to_pod": "splitter-0", "resource_version": "x"},
            ["resource_version"],
        ),
    ],
)
def test_a_malformed_body_is_an_invalid_request_naming_its_fields(api, example, body, paths):
    status, code, fields = error(api("editor").post(URL, body, format="json"))
    assert (status, code, [path for path, _ in fields]) == (400, "invalid_request", paths)


def test_a_stale_version_in_the_body_moves_nothing(api, example):
    body = {"entity": "splitter", "partition": 3, "to_pod": "splitter-0", "resource_version": 4}
    assert error(api("editor").post(URL, body, format="json"))[:2] == (412, "stale_version")
    assert _owners()["splitter-1"] == (2, 3)


def test_an_unknown_deployment_is_not_found(api, db):
    body = {"entity": "splitter", "partition": 3, "to_pod": "splitter-0"}
    assert error(api("editor").post(deployment_url("nowhere", "move"), body, format="json"))[:2] == (
        404,
        "not_found",
    )


def test_viewers_cannot_move_partitions(api, example):
    body = {"entity": "splitter", "partition": 3, "to_pod": "splitter-0"}
    assert error(api("viewer").post(URL, body, format="json"))[:2] == (403, "permission_denied")


# --- POST /api/deployments/{name}/moves/: several moves saved as one change -------------------

MOVES_URL = deployment_url(EXAMPLE_NAME, "moves")


def test_a_batch_of_moves_is_one_revision_whose_audit_and_trigger_name_each_move(
    api, example, django_capture_on_commit_callbacks, reconciles
):
    moves = [
        {"entity": "splitter", "partition": 3, "to_pod": "splitter-0"},
        {"entity": "splitter", "partition": 4, "to_pod": "splitter-1"},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = api("editor").post(MOVES_URL, {"moves": moves}, format="json", HTTP_IF_MATCH='"1"')

    body = response.json()
    assert response.status_code == 200, body
    assert (body["changed"], body["resource_version"], response["ETag"]) == (True, 2, '"2"')
    assert _owners() == {"splitter-0": (0, 1, 3), "splitter-1": (2, 4), "splitter-2": (5,)}
    assert Revision.objects.filter(deployment__name=EXAMPLE_NAME).count() == 2
    summary = (
        "moved partition 3 of splitter from splitter-1 to splitter-0; "
        "moved partition 4 of splitter from splitter-2 to splitter-1"
    )
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.summary, entry.revision) == ("move_partition", summary, body["revision"])
    reconciles.assert_called_once()
    name, reason = reconciles.call_args.args
    assert name == EXAMPLE_NAME
    assert reason.startswith(summary + " (move_partition by editor via ")


def test_a_bad_move_in_a_batch_is_named_by_its_place_and_nothing_moves(api, example):
    moves = [
        {"entity": "splitter", "partition": 3, "to_pod": "splitter-0"},
        {"entity": "splitter", "partition": 4, "to_pod": "totals-0"},
    ]
    assert error(api("editor").post(MOVES_URL, {"moves": moves}, format="json")) == (
        400,
        "invalid_request",
        [("moves[1].to_pod", "not_found")],
    )
    assert _owners()["splitter-1"] == (2, 3)
    assert Revision.objects.filter(deployment__name=EXAMPLE_NAME).count() == 1


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({}, ["moves"]),
        ({"moves": []}, ["moves"]),
        (
            {"moves": [{"entity": "splitter", "partition": "x", "to_pod": "splitter-0"}]},
            ["moves[0].partition"],
        ),
    ],
)
def test_a_malformed_batch_is_an_invalid_request_naming_its_fields(api, example, body, paths):
    status, code, fields = error(api("editor").post(MOVES_URL, body, format="json"))
    assert (status, code, [path for path, _ in fields]) == (400, "invalid_request", paths)


def test_a_batch_over_the_limit_is_refused_before_anything_is_looked_up(api, example):
    move = {"entity": "splitter", "partition": 3, "to_pod": "splitter-0"}
    response = api("editor").post(MOVES_URL, {"moves": [move] * (MAX_MOVES + 1)}, format="json")
    assert error(response) == (400, "invalid_request", [("moves", "max_length")])
    assert str(MAX_MOVES) in response.json()["error"]["fields"][0]["message"]
    assert Revision.objects.filter(deployment__name=EXAMPLE_NAME).count() == 1
    at_the_limit = api("editor").post(MOVES_URL, {"moves": [move] * MAX_MOVES}, format="json")
    assert at_the_limit.status_code == 200, at_the_limit.json()


def test_viewers_cannot_move_a_batch(api, example):
    body = {"moves": [{"entity": "splitter", "partition": 3, "to_pod": "splitter-0"}]}
    assert error(api("viewer").post(MOVES_URL, body, format="json"))[:2] == (403, "permission_denied")


def test_a_whole_spec_save_that_also_moves_a_partition_is_one_revision_naming_both(
    api, example, django_capture_on_commit_callbacks, reconciles
):
    manifest = api("editor").get(deployment_url(EXAMPLE_NAME)).json()
    manifest["spec"]["historyLimit"] = 7
    pods = manifest["spec"]["statefulEntities"][0]["pods"]
    assert [pod["name"] for pod in pods[:2]] == ["splitter-0", "splitter-1"]
    pods[0]["partitions"], pods[1]["partitions"] = [0, 1, 3], [2]
    with django_capture_on_commit_callbacks(execute=True):
        response = api("editor").put(deployment_url(EXAMPLE_NAME), manifest, format="json")

    assert response.status_code == 200, response.json()
    assert Revision.objects.filter(deployment__name=EXAMPLE_NAME).count() == 2
    summary = "updated the spec; moved partition 3 of splitter from splitter-1 to splitter-0"
    assert AuditEntry.objects.latest("id").summary == summary
    assert reconciles.call_args.args[1].startswith(summary + " (update by editor via ")
