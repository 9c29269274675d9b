"""The issue's acceptance path, end to end: import the example, move a partition through the
API, roll back in the admin, and export again, getting the example back."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orchestrator import dump_manifest_yaml, parse_deployment, to_manifest
from tests.topology.conftest import EXAMPLE_NAME, EXAMPLE_PATH, example_manifest
from topology_editor.models import AuditEntry, Revision


def test_import_move_roll_back_export(db, client, personas, django_capture_on_commit_callbacks, reconciles):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=personas.operator).key}")

    with django_capture_on_commit_callbacks(execute=True):
        imported = api.generic(
            "POST", "/api/deployments/import/", EXAMPLE_PATH.read_bytes(), content_type="application/yaml"
        )
        first = imported.json()["revision"]
        moved = api.post(
            f"/api/deployments/{EXAMPLE_NAME}/move/",
            {"entity": "splitter", "partition": 5, "to_pod": "splitter-0"},
            format="json",
            HTTP_IF_MATCH=imported["ETag"],
        )
        client.force_login(personas.operator)
        rolled_back = client.post(
            "/admin/topology_editor/revision/",
            {"action": "roll_back", "_selected_action": [Revision.objects.get(name=first).pk]},
            follow=True,
        )
    exported = api.get(f"/api/deployments/{EXAMPLE_NAME}/export/")

    assert (imported.status_code, moved.status_code, rolled_back.status_code) == (201, 200, 200)
    assert moved.json()["revision"] != first
    assert exported.content.decode() == dump_manifest_yaml(to_manifest(parse_deployment(example_manifest())))
    assert list(Revision.objects.order_by("number").values_list("number", "name")) == [
        (2, moved.json()["revision"]),
        (3, first),
    ]
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["create", "move_partition", "rollback"]
    assert reconciles.call_count == 3
