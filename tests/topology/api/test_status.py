"""GET /api/deployments/{name}/status/ and /audit/: what the orchestrator and people did."""

from datetime import timedelta

from django.utils import timezone

from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error
from topology_editor import services
from topology_editor.models import Deployment, Interface, ReconcileRun


def test_the_status_has_the_orchestrators_fields_and_recent_runs(api, example, django_assert_max_num_queries):
    now = timezone.now()
    Deployment.objects.update(state="Ready", current_revision="r1", status_message="all pods ready")
    for i in range(12):
        ReconcileRun.objects.create(
            deployment=example, revision="r1", trigger="change", started_at=now - timedelta(minutes=i),
            finished_at=now, duration_ms=20, result="success" if i else "noop", api_calls=5, api_writes=i,
        )  # fmt: skip

    with django_assert_max_num_queries(6):
        response = api("viewer").get(deployment_url(EXAMPLE_NAME, "status"))

    body = response.json()
    assert (body["state"], body["current_revision"], body["status_message"]) == (
        "Ready",
        "r1",
        "all pods ready",
    )
    assert body["desired_revision"].startswith(EXAMPLE_NAME)
    assert body["resource_version"] == 1
    assert len(body["reconcile_runs"]) == 10
    assert body["reconcile_runs"][0]["result"] == "noop"
    assert body["reconcile_runs"][1]["api_writes"] == 1
    assert response["ETag"] == '"1"'


def test_the_status_of_an_unknown_deployment_is_not_found(api, db):
    assert error(api("viewer").get(deployment_url("nowhere", "status")))[:2] == (404, "not_found")


def test_the_audit_trail_lists_changes_newest_first(api, example, personas):
    services.move_partition(
        EXAMPLE_NAME, "splitter", 3, "splitter-0", actor=personas.editor, interface=Interface.UI
    )
    body = api("viewer").get(deployment_url(EXAMPLE_NAME, "audit")).json()
    assert [(e["action"], e["actor"], e["interface"]) for e in body["results"]] == [
        ("move_partition", "editor", "ui"), ("create", "CLI", "cli"),
    ]  # fmt: skip
    assert body["results"][0]["changes"][0]["path"].startswith("spec.statefulEntities[splitter]")


def test_outsiders_see_neither(api, example):
    for part in ("status", "audit"):
        assert error(api("outsider").get(deployment_url(EXAMPLE_NAME, part)))[:2] == (
            403,
            "permission_denied",
        )
