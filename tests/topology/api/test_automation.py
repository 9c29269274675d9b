"""/api/deployments/{name}/automation/: opt-in automation that a rollback or a manual change
pauses until an operator resumes it, with why and since when, all in the audit (issue 16, item 4)."""

import pytest

from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from tests.topology.helpers import deployment_url, error, manifest_with
from topology_editor import services
from topology_editor.models import AuditEntry, Deployment, Interface

URL = deployment_url(EXAMPLE_NAME, "automation")


@pytest.fixture
def enabled(api, example) -> Deployment:
    response = api("operator").post(URL, {"enabled": True}, format="json")
    assert response.json() == {"enabled": True, "paused": False, "paused_since": None, "paused_reason": ""}
    return Deployment.objects.get()


def _edit(api, history_limit: int) -> None:
    manifest = manifest_with(example_manifest(), historyLimit=history_limit)
    response = api("editor").put(deployment_url(EXAMPLE_NAME), manifest, format="json")
    assert response.status_code == 200, response.json()


def _actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def test_automation_is_off_until_an_operator_turns_it_on_and_that_is_audited(api, example):
    assert api("viewer").get(URL).json()["enabled"] is False
    api("operator").post(URL, {"enabled": True}, format="json")
    assert api("viewer").get(URL).json()["enabled"] is True
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.summary, entry.actor_name) == (
        "enable_automation",
        "automation enabled",
        "operator",
    )


def test_a_rollback_pauses_it_with_why_and_since_when(api, enabled):
    services.update_deployment(
        EXAMPLE_NAME, manifest_with(example_manifest(), historyLimit=4), actor=None, interface=Interface.CLI
    )
    # That CLI change paused it already; resume, then roll back.
    api("operator").post(URL, {"enabled": True}, format="json")
    first = enabled.revisions.get(number=1)
    assert (
        api("operator").post(deployment_url(EXAMPLE_NAME, "revisions", first.name, "rollback")).status_code
        == 200
    )

    state = api("viewer").get(URL).json()
    assert state["paused"] is True
    assert state["paused_since"]
    assert state["paused_reason"] == f"rollback by operator via API, revision {first.name}"
    assert _actions()[-2:] == ["rollback", "pause_automation"]


def test_a_manual_edit_pauses_it_and_a_second_change_keeps_the_first_reason(api, enabled):
    _edit(api, 7)
    first = api("viewer").get(URL).json()
    assert first["paused"] is True
    assert first["paused_reason"].startswith("manual change (update) by editor via API")
    _edit(api, 8)
    assert api("viewer").get(URL).json() == first
    assert _actions().count("pause_automation") == 1


def test_an_operator_resumes_it(api, enabled):
    _edit(api, 7)
    resumed = api("operator").post(URL, {"enabled": True}, format="json").json()
    assert resumed == {"enabled": True, "paused": False, "paused_since": None, "paused_reason": ""}
    assert _actions()[-1] == "resume_automation"


def test_changes_pause_nothing_while_automation_is_off(api, example):
    _edit(api, 7)
    assert api("viewer").get(URL).json()["paused"] is False
    assert "pause_automation" not in _actions()


def test_turning_it_off_clears_a_pause_and_asking_twice_records_once(api, enabled):
    api("operator").post(URL, {"enabled": False}, format="json")
    api("operator").post(URL, {"enabled": False}, format="json")
    assert api("viewer").get(URL).json()["enabled"] is False
    assert _actions().count("disable_automation") == 1


@pytest.mark.parametrize("body", [{}, {"enabled": "maybe"}])
def test_bad_input_is_a_400_and_changes_nothing(api, enabled, body):
    response = api("operator").post(URL, body, format="json")
    assert error(response) == (400, "invalid_request", [("enabled", error(response)[2][0][1])])
    assert Deployment.objects.get().automation_enabled is True


@pytest.mark.parametrize("persona", ["editor", "viewer", "outsider"])
def test_only_operators_change_it(api, example, persona):
    assert error(api(persona).post(URL, {"enabled": True}, format="json"))[:2] == (403, "permission_denied")
    assert Deployment.objects.get().automation_enabled is False
