"""POST /api/deployments/{name}/revisions/{rev}/rollback/: an earlier spec made the saved one."""

import pytest

from orchestrator import parse_deployment
from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from tests.topology.helpers import deployment_url, error, manifest_with
from topology_editor import services
from topology_editor.models import AuditEntry, Deployment, Interface, Revision
from topology_editor.spec_rows import spec_from_rows


@pytest.fixture
def first(example) -> Revision:
    """The example's revision, after which historyLimit was changed to 4."""
    services.update_deployment(
        EXAMPLE_NAME, manifest_with(example_manifest(), historyLimit=4), actor=None, interface=Interface.CLI
    )
    return example.revisions.get(number=1)


def _url(revision: str) -> str:
    return deployment_url(EXAMPLE_NAME, "revisions", revision, "rollback")


def test_rolling_back_restores_the_spec_and_renumbers_the_revision(
    api, first, personas, django_capture_on_commit_callbacks, reconciles
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api("operator").post(_url(first.name), HTTP_IF_MATCH='"2"')

    body = response.json()
    assert response.status_code == 200, body
    assert (body["changed"], body["revision"], body["resource_version"]) == (True, first.name, 3)
    assert spec_from_rows(Deployment.objects.get()) == parse_deployment(example_manifest())
    first.refresh_from_db()
    assert first.number == 3
    assert Revision.objects.count() == 2
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.revision) == ("rollback", personas.operator, first.name)
    reconciles.assert_called_once()


def test_rolling_back_to_the_saved_revision_changes_nothing(api, first, reconciles):
    saved = Revision.objects.get(number=2)
    body = api("operator").post(_url(saved.name), {}, format="json").json()
    assert (body["changed"], body["resource_version"]) == (False, 2)


def test_a_revision_the_validator_now_refuses_is_not_restored(api, first):
    Revision.objects.filter(pk=first.pk).update(manifest={**first.manifest, "kind": "Other"})
    assert error(api("operator").post(_url(first.name))) == (400, "invalid_spec", [("kind", "invalid_value")])
    assert spec_from_rows(Deployment.objects.get()).history_limit == 4


def test_an_unknown_revision_is_not_found(api, first):
    assert error(api("operator").post(_url("nope-0")))[:2] == (404, "not_found")


def test_a_stale_version_rolls_nothing_back(api, first):
    response = api("operator").post(_url(first.name), {"resource_version": 1}, format="json")
    assert error(response)[:2] == (412, "stale_version")
    assert spec_from_rows(Deployment.objects.get()).history_limit == 4


@pytest.mark.parametrize("persona", ["editor", "viewer", "outsider"])
def test_rolling_back_needs_the_operator_role(api, first, persona):
    assert error(api(persona).post(_url(first.name)))[:2] == (403, "permission_denied")
