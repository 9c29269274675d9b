"""The revision admin: the spec, a diff against the saved spec, and "Roll back to this revision"."""

import pytest

from orchestrator import parse_deployment
from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from tests.topology.helpers import manifest_with
from topology_editor import services
from topology_editor.models import AuditEntry, Deployment, Interface, Revision
from topology_editor.spec_rows import spec_from_rows

LIST = "/admin/topology_editor/revision/"


@pytest.fixture
def first(example) -> Revision:
    """The example's revision; the saved spec has historyLimit 4 since."""
    manifest = manifest_with(example_manifest(), historyLimit=4)
    services.update_deployment(EXAMPLE_NAME, manifest, actor=None, interface=Interface.CLI)
    return example.revisions.get(number=1)


def _roll_back(client, *revisions: Revision):
    data = {"action": "roll_back", "_selected_action": [revision.pk for revision in revisions]}
    return client.post(LIST, data, follow=True)


def test_a_revision_shows_its_spec_and_its_diff_against_the_saved_spec(client, personas, first):
    client.force_login(personas.viewer)
    text = client.get(f"{LIST}{first.pk}/change/").content.decode()
    assert "historyLimit: 5" in text
    assert "splitter-0" in text
    assert "<code>spec.historyLimit</code></td><td>changed</td><td>5</td><td>4</td>" in text


def test_the_saved_revision_says_so(client, personas, first):
    client.force_login(personas.viewer)
    saved = Revision.objects.get(number=2)
    assert "This revision is the saved spec." in client.get(f"{LIST}{saved.pk}/change/").content.decode()


def test_operators_roll_back_through_the_services(
    client, personas, first, django_capture_on_commit_callbacks, reconciles
):
    client.force_login(personas.operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = _roll_back(client, first)

    assert f"Rolled {EXAMPLE_NAME} back to {first.name}, now revision #3." in response.content.decode()
    assert spec_from_rows(Deployment.objects.get()) == parse_deployment(example_manifest())
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.interface) == ("rollback", personas.operator, "admin")
    reconciles.assert_called_once()


def test_rolling_back_to_the_saved_revision_says_nothing_changed(client, personas, first):
    client.force_login(personas.operator)
    response = _roll_back(client, Revision.objects.get(number=2))
    assert "already is the saved spec" in response.content.decode()


def test_exactly_one_revision_must_be_chosen(client, personas, first):
    client.force_login(personas.operator)
    response = _roll_back(client, *Revision.objects.all())
    assert "Choose exactly one revision to roll back to." in response.content.decode()
    assert spec_from_rows(Deployment.objects.get()).history_limit == 4


def test_a_revision_that_no_longer_validates_is_not_restored(client, personas, first, reconciles):
    Revision.objects.filter(pk=first.pk).update(manifest={**first.manifest, "kind": "Other"})
    client.force_login(personas.operator)
    response = _roll_back(client, first)
    assert "Not rolled back: kind: must be InvokerDeployment" in response.content.decode()
    assert spec_from_rows(Deployment.objects.get()).history_limit == 4
    reconciles.assert_not_called()


@pytest.mark.parametrize("persona", ["viewer", "editor"])
def test_only_operators_are_offered_the_action(client, personas, first, persona):
    client.force_login(personas[persona])
    page = client.get(LIST)
    assert b"Roll back to this revision" not in page.content
    _roll_back(client, first)
    assert spec_from_rows(Deployment.objects.get()).history_limit == 4


def test_revisions_cannot_be_added_edited_or_deleted_by_hand(client, personas, first):
    client.force_login(personas.owner)
    assert client.get(f"{LIST}add/").status_code == 403
    assert client.post(f"{LIST}{first.pk}/change/", {"number": 9}).status_code == 403
    assert client.get(f"{LIST}{first.pk}/delete/").status_code == 403
