"""/api/deployments/{name}/entities/: one entity at a time, the whole spec validated."""

import pytest

from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error
from topology_editor.models import AuditEntry, Deployment
from topology_editor.spec_rows import spec_from_rows

LIST = deployment_url(EXAMPLE_NAME, "entities")
SPLITTER = deployment_url(EXAMPLE_NAME, "entities", "splitter")
NEW_ENTITY = {
    "name": "printer",
    "executorImage": "invoker/executor-print:0.1",
    "ioAddress": "127.0.0.1:9092",
    "inputTopic": "counts",
    "outputTopic": "printed",
    "pods": [{"name": "printer-0", "partitions": ["0"]}],
}


def _entities() -> list[str]:
    return [entity.name for entity in spec_from_rows(Deployment.objects.get()).entities]


def test_the_list_has_every_entity_with_its_pods(api, example, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        response = api("viewer").get(LIST)
    body = response.json()
    assert [entity["name"] for entity in body["results"]] == ["splitter", "totals"]
    assert body["results"][1]["ioImage"] == "invoker/io-sidecar:0.1"
    assert response["ETag"] == '"1"'


def test_one_entity_is_read_by_name(api, example):
    response = api("viewer").get(SPLITTER)
    assert response.json()["outputTopic"] == "words"
    assert response["ETag"] == '"1"'


def test_an_unknown_entity_is_not_found(api, example):
    assert error(api("viewer").get(deployment_url(EXAMPLE_NAME, "entities", "nope")))[:2] == (
        404,
        "not_found",
    )


def test_adding_an_entity_appends_it(api, example):
    response = api("editor").post(LIST, NEW_ENTITY, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 201, response.json()
    assert response.json()["pods"] == [{"name": "printer-0", "partitions": [0], "resources": {}}]
    assert response["ETag"] == '"2"'
    assert _entities() == ["splitter", "totals", "printer"]
    assert AuditEntry.objects.latest("id").summary == "added entity printer"


def test_adding_an_entity_that_breaks_the_spec_names_its_full_path(api, example):
    response = api("editor").post(LIST, {**NEW_ENTITY, "name": "totals", "pods": []}, format="json")
    assert error(response) == (400, "invalid_spec", [("spec.statefulEntities[2].name", "duplicate")])
    assert _entities() == ["splitter", "totals"]


def test_replacing_an_entity_may_rename_it(api, example):
    body = api("viewer").get(SPLITTER).json()
    response = api("editor").put(SPLITTER, {**body, "name": "words"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "words"
    assert _entities() == ["words", "totals"]


def test_patching_an_entity_merges_the_fields_given(api, example):
    response = api("editor").patch(SPLITTER, {"inputPartitions": 6}, format="json")
    assert response.status_code == 200
    assert response.json()["inputPartitions"] == 6


def test_patching_that_leaves_a_partition_unowned_is_rejected(api, example):
    response = api("editor").patch(SPLITTER, {"inputPartitions": 8}, format="json")
    assert error(response) == (400, "invalid_spec", [("spec.statefulEntities[0].pods", "unassigned")])


def test_removing_an_entity(api, example):
    assert api("editor").delete(SPLITTER).status_code == 204
    assert _entities() == ["totals"]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_writing_an_unknown_entity_is_not_found(api, example, method):
    url = deployment_url(EXAMPLE_NAME, "entities", "nope")
    assert error(getattr(api("editor"), method)(url, NEW_ENTITY, format="json"))[:2] == (404, "not_found")


def test_a_stale_version_changes_no_entity(api, example):
    assert error(api("editor").delete(SPLITTER, HTTP_IF_MATCH='"9"'))[:2] == (412, "stale_version")
    assert _entities() == ["splitter", "totals"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_viewers_cannot_change_entities(api, example, method):
    url = LIST if method == "post" else SPLITTER
    assert error(getattr(api("viewer"), method)(url, NEW_ENTITY, format="json"))[:2] == (
        403,
        "permission_denied",
    )
