"""POST /api/deployments/import/: a custom-resource manifest as YAML (body or upload)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from orchestrator.spec.manifest_yaml import MAX_MANIFEST_BYTES
from tests.topology.conftest import EXAMPLE_NAME, EXAMPLE_PATH
from tests.topology.helpers import error
from topology_editor.models import AuditEntry, Deployment
from topology_editor.spec_rows import spec_from_rows

URL = "/api/deployments/import/"
EXAMPLE = EXAMPLE_PATH.read_bytes()


def _post_yaml(client, text: bytes | str, content_type: str = "application/yaml", **headers):
    return client.generic("POST", URL, text, content_type=content_type, **headers)


@pytest.mark.parametrize("content_type", ["application/yaml", "text/yaml", "application/x-yaml"])
def test_the_example_imports_unchanged(api, db, content_type):
    response = _post_yaml(api("editor"), EXAMPLE, content_type)

    body = response.json()
    assert response.status_code == 201, body
    assert (body["name"], body["created"], body["changed"], body["resource_version"]) == (
        EXAMPLE_NAME,
        True,
        True,
        1,
    )
    assert body["revision"].startswith(f"{EXAMPLE_NAME}-")
    assert response["ETag"] == '"1"'
    assert spec_from_rows(Deployment.objects.get()).entity("totals").pods[0].partitions == (0, 1, 2, 3, 4, 5)
    assert AuditEntry.objects.get().interface == "api"


def test_importing_again_changes_nothing_and_an_edit_updates(api, db):
    client = api("editor")
    _post_yaml(client, EXAMPLE)
    again = _post_yaml(client, EXAMPLE)
    assert again.status_code == 200
    assert again.json()["changed"] is False

    edited = _post_yaml(client, EXAMPLE.replace(b"historyLimit: 5", b"historyLimit: 6"), HTTP_IF_MATCH='"1"')
    assert edited.status_code == 200
    assert edited.json()["changed"] is True
    assert edited["ETag"] == '"2"'


def test_an_upload_is_read_like_a_body(api, db):
    upload = SimpleUploadedFile("word-count.yaml", EXAMPLE, content_type="application/yaml")
    response = api("editor").post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()


def test_an_upload_without_a_file_is_an_invalid_request(api, db):
    response = api("editor").post(URL, {"other": "x"}, format="multipart")
    assert error(response) == (400, "invalid_request", [("file", "required")])


def test_a_json_manifest_is_accepted_too(api, db):
    response = api("editor").post(URL, {"apiVersion": "x"}, format="json")
    assert error(response)[:2] == (400, "invalid_spec")


def test_malformed_yaml_names_the_line_and_column(api, db):
    response = _post_yaml(api("editor"), EXAMPLE.replace(b'  version: "v1"', b"  version: [v1"))
    status, code, fields = error(response)
    assert (status, code, fields) == (400, "invalid_yaml", [("yaml", "yaml_syntax")])
    assert "line 8, column" in response.json()["error"]["message"]
    assert not Deployment.objects.exists()


def test_unknown_fields_are_rejected_with_their_path(api, db):
    response = _post_yaml(
        api("editor"), EXAMPLE.replace(b'      ioAddress: "127', b'      ioAdress: "127', 1)
    )
    assert error(response)[2] == [
        ("spec.statefulEntities[0].ioAddress", "required"),
        ("spec.statefulEntities[0].ioAdress", "unknown_field"),
    ]


def test_only_safe_yaml_is_loaded(api, db):
    response = _post_yaml(api("editor"), b"!!python/object/apply:os.system ['touch /tmp/pwned']\n")
    assert error(response) == (400, "invalid_yaml", [("yaml", "yaml_syntax")])


def test_a_manifest_above_the_size_limit_is_refused_unread(api, db):
    oversized = EXAMPLE + b"#" * (MAX_MANIFEST_BYTES + 1) + b"\n"
    response = _post_yaml(api("editor"), oversized)
    assert error(response) == (413, "too_large", [("yaml", "too_large")])


def test_an_upload_far_above_the_limit_is_refused_by_its_length(api, db):
    response = _post_yaml(api("editor"), b"#" * (2 * MAX_MANIFEST_BYTES) + b"\n")
    assert error(response) == (413, "too_large", [])


def test_other_content_types_are_unsupported(api, db):
    response = api("editor").generic("POST", URL, EXAMPLE, content_type="text/csv")
    assert error(response)[:2] == (415, "unsupported_media_type")


def test_a_stale_version_imports_nothing(api, db):
    client = api("editor")
    _post_yaml(client, EXAMPLE)
    edited = EXAMPLE.replace(b"historyLimit: 5", b"historyLimit: 6")
    assert error(_post_yaml(client, edited, HTTP_IF_MATCH='"5"'))[:2] == (412, "stale_version")
    assert Deployment.objects.get().history_limit == 5


@pytest.mark.parametrize("persona", ["viewer", "outsider"])
def test_importing_needs_the_editor_role(api, db, persona):
    assert error(_post_yaml(api(persona), EXAMPLE))[:2] == (403, "permission_denied")
