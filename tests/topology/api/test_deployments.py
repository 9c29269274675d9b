"""/api/deployments/ and /api/deployments/{name}/: whole deployments as custom resources."""

import pytest

from orchestrator import parse_deployment
from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from tests.topology.helpers import deployment_url, error, manifest_with
from topology_editor import services
from topology_editor.models import AuditEntry, Deployment, Interface
from topology_editor.spec_rows import spec_from_rows

URL = deployment_url(EXAMPLE_NAME)


def _renamed(name: str) -> dict:
    manifest = example_manifest()
    manifest["metadata"]["name"] = name
    return manifest


def test_the_list_is_paginated_and_summarises_each_deployment(api, example, django_assert_max_num_queries):
    for name in ("alpha", "beta"):
        services.create_deployment(_renamed(name), actor=None, interface=Interface.CLI)

    with django_assert_max_num_queries(6):
        response = api("viewer").get("/api/deployments/?page_size=2")

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 3
    assert body["next"]
    assert len(body["results"]) == 2
    alpha = body["results"][0]
    assert alpha["name"] == "alpha"
    assert alpha["entity_count"] == 2
    assert alpha["pod_count"] == 4
    assert alpha["desired_revision"].startswith("alpha-")
    assert alpha["state"] == "Pending"
    assert alpha["url"].endswith("/api/deployments/alpha/")


def test_the_list_query_count_does_not_grow_with_deployments(api, example, django_assert_max_num_queries):
    for i in range(10):
        services.create_deployment(_renamed(f"copy-{i}"), actor=None, interface=Interface.CLI)
    with django_assert_max_num_queries(6):
        assert api("viewer").get("/api/deployments/").status_code == 200


def test_creating_returns_the_resource_with_its_version(
    api, db, django_capture_on_commit_callbacks, reconciles
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api("editor").post("/api/deployments/", example_manifest(), format="json")

    body = response.json()
    assert response.status_code == 201, body
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith(URL)
    assert body["metadata"]["resourceVersion"] == "1"
    assert body["metadata"]["annotations"]["invoker.io/revision"].startswith(f"{EXAMPLE_NAME}-")
    assert body["status"]["state"] == "Pending"
    assert parse_deployment(body) == parse_deployment(example_manifest())
    assert AuditEntry.objects.get().interface == "api"
    reconciles.assert_called_once()


def test_creating_an_invalid_spec_names_every_field_and_stores_nothing(api, db, reconciles):
    manifest = example_manifest()
    manifest["spec"]["statefulEntities"][0]["pods"][1]["partitions"] = ["1", "x"]
    manifest["spec"]["statefulEntities"][1]["colour"] = "blue"

    response = api("editor").post("/api/deployments/", manifest, format="json")

    assert error(response) == (
        400,
        "invalid_spec",
        [
            ("spec.statefulEntities[0].pods[1].partitions[0]", "duplicate"),
            ("spec.statefulEntities[0].pods[1].partitions[1]", "invalid_type"),
            ("spec.statefulEntities[1].colour", "unknown_field"),
        ],
    )
    assert not Deployment.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_creating_from_something_else_than_a_mapping_is_an_invalid_spec(api, db, body):
    assert error(api("editor").post("/api/deployments/", body, format="json"))[:2] == (400, "invalid_spec")


def test_creating_a_taken_name_is_a_conflict(api, example):
    assert error(api("editor").post("/api/deployments/", example_manifest(), format="json")) == (
        409,
        "conflict",
        [],
    )


def test_reading_returns_the_manifest_status_and_etag(api, example, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        response = api("viewer").get(URL)

    body = response.json()
    assert response["ETag"] == '"1"'
    assert list(body) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert body["spec"]["statefulEntities"][0]["pods"][0]["partitions"] == [0, 1]
    assert body["status"] == {
        "state": "Pending", "currentRevision": "", "nextRevision": "", "lastUpdateTime": None,
        "components": {}, "conditions": [], "message": "", "lastError": "",
    }  # fmt: skip


def test_an_unknown_deployment_is_not_found(api, db):
    assert error(api("viewer").get(deployment_url("nowhere"))) == (404, "not_found", [])


def test_replacing_stores_the_new_spec_and_bumps_the_version(api, example):
    manifest = manifest_with(example_manifest(), historyLimit=9)
    response = api("editor").put(URL, manifest, format="json", HTTP_IF_MATCH='"1"')

    assert response.status_code == 200, response.json()
    assert response["ETag"] == '"2"'
    assert response.json()["spec"]["historyLimit"] == 9
    assert spec_from_rows(Deployment.objects.get()).history_limit == 9


def test_what_was_read_can_be_written_back_unchanged(api, example):
    client = api("editor")
    body = client.get(URL).json()
    response = client.put(URL, body, format="json")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'


def test_replacing_with_another_name_is_refused(api, example):
    response = api("editor").put(URL, _renamed("other"), format="json")
    assert error(response) == (400, "invalid_spec", [("metadata.name", "immutable")])


@pytest.mark.parametrize(
    ("if_match", "metadata_version"),
    [('"7"', None), (None, "7"), (None, 7), ('W/"1"', None), ('"one"', None), ('"1"', "2")],
)
def test_a_write_based_on_a_stale_or_foreign_version_gets_412_and_changes_nothing(
    api, example, if_match, metadata_version
):
    manifest = manifest_with(example_manifest(), historyLimit=9)
    if metadata_version is not None:
        manifest["metadata"]["resourceVersion"] = metadata_version
    headers = {"HTTP_IF_MATCH": if_match} if if_match else {}

    response = api("editor").put(URL, manifest, format="json", **headers)

    assert error(response)[:2] == (412, "stale_version")
    assert Deployment.objects.get().resource_version == 1
    assert example.revisions.count() == 1


@pytest.mark.parametrize("version", [True, [1], "1.5", "-1"])
def test_a_malformed_resource_version_is_an_invalid_request(api, example, version):
    manifest = example_manifest()
    manifest["metadata"]["resourceVersion"] = version
    _, code, fields = error(api("editor").put(URL, manifest, format="json"))
    assert (code, [path for path, _ in fields]) == ("invalid_request", ["metadata.resourceVersion"])


def test_if_match_star_and_the_current_version_are_accepted(api, example):
    client = api("editor")
    assert client.put(URL, example_manifest(), format="json", HTTP_IF_MATCH="*").status_code == 200
    manifest = manifest_with(example_manifest(), historyLimit=4)
    manifest["metadata"]["resourceVersion"] = "1"
    assert client.put(URL, manifest, format="json", HTTP_IF_MATCH='"1"').status_code == 200


def test_a_merge_patch_changes_only_what_it_names(api, example):
    response = api("editor").patch(URL, {"spec": {"historyLimit": 7}}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.json()
    spec = spec_from_rows(Deployment.objects.get())
    assert spec.history_limit == 7
    assert len(spec.entities) == 2


def test_a_merge_patch_content_type_is_accepted(api, example):
    response = api("editor").generic(
        "PATCH", URL, '{"spec": {"imagePullPolicy": "Always"}}', content_type="application/merge-patch+json"
    )
    assert response.status_code == 200
    assert response.json()["spec"]["imagePullPolicy"] == "Always"


def test_a_merge_patch_that_breaks_the_spec_is_rejected(api, example):
    response = api("editor").patch(URL, {"spec": {"statefulEntities": None}}, format="json")
    assert error(response) == (400, "invalid_spec", [("spec.statefulEntities", "required")])


def test_deleting_removes_the_deployment(api, example, django_capture_on_commit_callbacks, reconciles):
    with django_capture_on_commit_callbacks(execute=True):
        response = api("editor").delete(URL, HTTP_IF_MATCH='"1"')
    assert response.status_code == 204
    assert not Deployment.objects.exists()
    reconciles.assert_called_once()
    assert error(api("editor").delete(URL))[:2] == (404, "not_found")


def test_deleting_with_a_stale_version_keeps_it(api, example):
    assert error(api("editor").delete(URL, HTTP_IF_MATCH='"2"'))[:2] == (412, "stale_version")
    assert Deployment.objects.exists()


@pytest.mark.parametrize(
    ("method", "persona"),
    [("post", "viewer"), ("put", "viewer"), ("patch", "viewer"), ("delete", "viewer"), ("get", "outsider")],
)
def test_roles_without_the_permission_are_refused(api, example, method, persona):
    url = "/api/deployments/" if method == "post" else URL
    response = getattr(api(persona), method)(url, example_manifest(), format="json")
    assert error(response) == (403, "permission_denied", [])
    assert Deployment.objects.get().resource_version == 1
