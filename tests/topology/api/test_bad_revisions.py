"""POST /api/deployments/{name}/revisions/{rev}/bad/: an operator marks a revision bad; from then
on rollback refuses to go to it and no change may make its spec desired again (issue 16, item 4)."""

import pytest

from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from tests.topology.helpers import deployment_url, error, manifest_with
from topology_editor import services
from topology_editor.models import AuditEntry, Deployment, Interface, Revision


@pytest.fixture
def first(example) -> Revision:
    """The example's revision, after which historyLimit was changed to 4 (revision #2)."""
    services.update_deployment(
        EXAMPLE_NAME, manifest_with(example_manifest(), historyLimit=4), actor=None, interface=Interface.CLI
    )
    return example.revisions.get(number=1)


def _url(revision: str, *rest: str) -> str:
    return deployment_url(EXAMPLE_NAME, "revisions", revision, *rest)


def _mark(api, revision: str, persona: str = "operator", reason: str = "doubled the output"):
    return api(persona).post(_url(revision, "bad"), {"reason": reason}, format="json")


def test_an_operator_marks_a_revision_bad_and_the_audit_says_who_and_why(api, first, personas):
    response = _mark(api, first.name)

    body = response.json()
    assert response.status_code == 200, body
    assert (body["name"], body["bad_reason"], body["bad_by"]) == (
        first.name,
        "doubled the output",
        "operator",
    )
    assert body["bad_since"]
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.revision) == ("mark_bad", personas.operator, first.name)
    assert entry.summary == f"marked revision {first.name} (#1) bad: doubled the output"
    listed = api("viewer").get(deployment_url(EXAMPLE_NAME, "revisions")).json()
    rows = listed.get("results", listed)
    assert {r["name"]: r["bad_reason"] for r in rows}[first.name] == "doubled the output"


def test_rollback_refuses_to_go_to_a_bad_revision_and_changes_nothing(api, first, reconciles):
    _mark(api, first.name)
    audits = AuditEntry.objects.count()

    response = api("operator").post(_url(first.name, "rollback"), {}, format="json")

    status, code, _ = error(response)
    assert (status, code) == (409, "conflict")
    assert f"revision {first.name} (#1)" in response.json()["error"]["message"]
    assert "marked bad by operator" in response.json()["error"]["message"]
    deployment = Deployment.objects.get()
    assert deployment.resource_version == 2
    assert deployment.revisions.order_by("-number").first().number == 2
    assert AuditEntry.objects.count() == audits
    reconciles.assert_not_called()


def test_no_save_may_make_the_bad_spec_desired_again(api, first, reconciles):
    """An editor's PUT of the bad spec (what automation or a re-import would do) is refused too."""
    _mark(api, first.name)
    response = api("owner").put(deployment_url(EXAMPLE_NAME), example_manifest(), format="json")
    assert error(response)[:2] == (409, "conflict")
    assert Deployment.objects.get().resource_version == 2
    reconciles.assert_not_called()


def test_other_revisions_still_roll_back_and_new_changes_still_save(api, first):
    second = Revision.objects.get(number=2)
    _mark(api, second.name, reason="the desired one is broken")
    response = api("operator").post(_url(first.name, "rollback"), {}, format="json")
    assert response.status_code == 200, response.json()
    assert Deployment.objects.get().resource_version == 3


def test_marking_again_changes_nothing_and_records_nothing(api, first):
    _mark(api, first.name)
    audits = AuditEntry.objects.count()
    again = _mark(api, first.name, reason="another reason")
    assert again.status_code == 200
    assert again.json()["bad_reason"] == "doubled the output"
    assert AuditEntry.objects.count() == audits


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, "required"), ({"reason": "   "}, "required"), ({"reason": "x" * 501}, "max_length")],
)
def test_a_reason_is_required_and_bounded(api, first, body, code):
    response = api("operator").post(_url(first.name, "bad"), body, format="json")
    assert error(response)[:2] == (400, "invalid_request")
    assert [path for path, _ in error(response)[2]] == ["reason"]
    first.refresh_from_db()
    assert first.bad_since is None


def test_an_unknown_revision_is_not_found(api, first):
    assert error(_mark(api, "nope-0"))[:2] == (404, "not_found")


@pytest.mark.parametrize("persona", ["editor", "viewer", "outsider"])
def test_marking_needs_the_operator_role(api, first, persona):
    assert error(_mark(api, first.name, persona))[:2] == (403, "permission_denied")
    first.refresh_from_db()
    assert first.bad_since is None
