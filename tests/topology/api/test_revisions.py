"""/api/deployments/{name}/revisions/: the history, one revision, and the diff of any two."""

import pytest

from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from tests.topology.helpers import deployment_url, error, manifest_with
from topology_editor import services
from topology_editor.models import Deployment, Interface, Revision

LIST = deployment_url(EXAMPLE_NAME, "revisions")
DIFF = deployment_url(EXAMPLE_NAME, "revisions", "diff")


@pytest.fixture
def history(example, personas) -> list[Revision]:
    """Three revisions: the example, then historyLimit 4, then 5 again with pull policy Always."""
    for spec in ({"historyLimit": 4}, {"imagePullPolicy": "Always"}):
        manifest = manifest_with(example_manifest(), **spec)
        services.update_deployment(EXAMPLE_NAME, manifest, actor=personas.editor, interface=Interface.API)
    return list(example.revisions.order_by("number"))


def test_the_list_is_newest_first_and_marks_the_saved_and_running_revisions(
    api, history, django_assert_max_num_queries
):
    Deployment.objects.update(current_revision=history[0].name)
    with django_assert_max_num_queries(9):
        body = api("viewer").get(LIST).json()

    assert [(r["number"], r["desired"], r["running"]) for r in body["results"]] == [
        (3, True, False), (2, False, False), (1, False, True),
    ]  # fmt: skip
    assert body["results"][0]["created_by"] == "editor"
    assert body["results"][2]["created_by"] is None


def test_one_revision_has_its_manifest(api, history):
    body = api("viewer").get(deployment_url(EXAMPLE_NAME, "revisions", history[1].name)).json()
    assert body["number"] == 2
    assert body["manifest"]["spec"]["historyLimit"] == 4
    assert list(body["manifest"]) == ["apiVersion", "kind", "metadata", "spec"]


def test_an_unknown_revision_is_not_found(api, history):
    assert error(api("viewer").get(deployment_url(EXAMPLE_NAME, "revisions", "nope-0")))[:2] == (
        404,
        "not_found",
    )


def test_the_diff_between_any_two_revisions(api, history):
    response = api("viewer").get(DIFF, {"from": history[0].name, "to": history[1].name})
    assert response.json() == {
        "from": history[0].name,
        "to": history[1].name,
        "changes": [{"path": "spec.historyLimit", "change": "changed", "old": 5, "new": 4}],
    }


def test_the_diff_compares_with_the_saved_spec_by_default(api, history):
    body = api("viewer").get(DIFF, {"from": history[1].name}).json()
    assert body["to"] == history[2].name
    assert [change["path"] for change in body["changes"]] == ["spec.imagePullPolicy", "spec.historyLimit"]


def test_the_diff_needs_a_from_revision(api, history):
    assert error(api("viewer").get(DIFF)) == (400, "invalid_request", [("from", "required")])


@pytest.mark.parametrize("query", [{"from": "nope-1"}, {"from": "", "to": "x"}, {"to": "nope-1"}])
def test_the_diff_of_an_unknown_revision_is_refused(api, history, query):
    status, _, _ = error(api("viewer").get(DIFF, {"from": history[0].name, **query}))
    assert status in (400, 404)


def test_revisions_of_an_unknown_deployment_are_not_found(api, db):
    assert error(api("viewer").get(deployment_url("nowhere", "revisions")))[:2] == (404, "not_found")


def test_outsiders_cannot_read_revisions(api, history):
    assert error(api("outsider").get(LIST))[:2] == (403, "permission_denied")
