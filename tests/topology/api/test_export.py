"""GET /api/deployments/{name}/export/: the saved spec as a manifest that imports back unchanged."""

import yaml

from orchestrator import dump_manifest_yaml, parse_deployment, to_manifest
from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from tests.topology.helpers import deployment_url, error
from topology_editor.models import Deployment, Revision

URL = deployment_url(EXAMPLE_NAME, "export")


def test_the_export_is_yaml_in_the_canonical_form(api, example):
    response = api("viewer").get(URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert response["ETag"] == '"1"'
    assert response.content.decode() == dump_manifest_yaml(to_manifest(parse_deployment(example_manifest())))


def test_export_then_import_is_the_identity(api, example):
    client = api("editor")
    exported = client.get(URL).content
    response = client.generic("POST", "/api/deployments/import/", exported, content_type="application/yaml")
    assert response.json()["changed"] is False
    assert client.get(URL).content == exported
    assert Deployment.objects.get().resource_version == 1
    assert Revision.objects.count() == 1


def test_the_export_is_json_on_request(api, example):
    response = api("viewer").get(URL, HTTP_ACCEPT="application/json")
    assert response.json() == yaml.safe_load(api("viewer").get(URL).content)


def test_an_unknown_deployment_is_not_found_in_the_json_error_shape(api, db):
    assert error(api("viewer").get(deployment_url("nowhere", "export")))[:2] == (404, "not_found")


def test_outsiders_cannot_export(api, example):
    assert api("outsider").get(URL).status_code == 403
