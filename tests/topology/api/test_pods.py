"""/api/deployments/{name}/entities/{entity}/pods/: the pods of one entity."""

import pytest

from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error
from topology_editor.models import Deployment
from topology_editor.spec_rows import spec_from_rows

LIST = deployment_url(EXAMPLE_NAME, "entities", "splitter", "pods")
POD = deployment_url(EXAMPLE_NAME, "entities", "splitter", "pods", "splitter-2")


def _pods(entity: str = "splitter") -> dict[str, tuple[int, ...]]:
    spec = spec_from_rows(Deployment.objects.get())
    return {pod.name: pod.partitions for pod in spec.entity(entity).pods}


def test_the_list_has_the_entitys_pods_in_order(api, example):
    body = api("viewer").get(LIST).json()
    assert [pod["name"] for pod in body["results"]] == ["splitter-0", "splitter-1", "splitter-2"]
    assert body["results"][0]["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}


def test_pods_of_an_unknown_entity_are_not_found(api, example):
    url = deployment_url(EXAMPLE_NAME, "entities", "nope", "pods")
    assert error(api("viewer").get(url))[:2] == (404, "not_found")


def test_one_pod_is_read_by_name(api, example):
    assert api("viewer").get(POD).json() == {"name": "splitter-2", "partitions": [4, 5], "resources": {}}


def test_an_unknown_pod_is_not_found(api, example):
    url = deployment_url(EXAMPLE_NAME, "entities", "splitter", "pods", "splitter-9")
    assert error(api("viewer").get(url))[:2] == (404, "not_found")


def test_adding_a_pod_without_partitions(api, example):
    response = api("editor").post(LIST, {"name": "splitter-3"}, format="json")
    assert response.status_code == 201, response.json()
    assert _pods()["splitter-3"] == ()


def test_a_pod_name_is_unique_across_the_deployment(api, example):
    response = api("editor").post(LIST, {"name": "totals-0"}, format="json")
    assert error(response) == (400, "invalid_spec", [("spec.statefulEntities[1].pods[0].name", "duplicate")])


def test_partitions_may_be_strings_or_integers(api, example):
    response = api("editor").put(POD, {"name": "splitter-2", "partitions": ["5", 4]}, format="json")
    assert response.json()["partitions"] == [4, 5]


def test_patching_a_pods_resources(api, example):
    resources = {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}
    response = api("editor").patch(POD, {"resources": resources}, format="json")
    assert response.status_code == 200
    assert response.json()["resources"] == resources


def test_requests_above_limits_are_rejected_with_their_path(api, example):
    resources = {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}
    response = api("editor").patch(POD, {"resources": resources}, format="json")
    assert error(response) == (
        400,
        "invalid_spec",
        [("spec.statefulEntities[0].pods[2].resources.requests.cpu", "exceeds_limit")],
    )


def test_a_partition_owned_twice_is_rejected(api, example):
    response = api("editor").patch(POD, {"partitions": [3, 4, 5]}, format="json")
    assert error(response)[2] == [("spec.statefulEntities[0].pods[2].partitions[0]", "duplicate")]
    assert _pods()["splitter-2"] == (4, 5)


def test_removing_a_pod_that_owns_partitions_drains_it_first(api, example):
    # Its partitions go to the other pods; it goes once they are taken over (test_pod_removal.py).
    assert api("editor").delete(POD).status_code == 202
    assert _pods() == {"splitter-0": (0, 1, 4), "splitter-1": (2, 3, 5), "splitter-2": ()}


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_writing_an_unknown_pod_is_not_found(api, example, method):
    url = deployment_url(EXAMPLE_NAME, "entities", "splitter", "pods", "nope")
    assert error(getattr(api("editor"), method)(url, {"name": "nope"}, format="json"))[:2] == (
        404,
        "not_found",
    )


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_viewers_cannot_change_pods(api, example, method):
    url = LIST if method == "post" else POD
    assert error(getattr(api("viewer"), method)(url, {"name": "x"}, format="json"))[:2] == (
        403,
        "permission_denied",
    )
