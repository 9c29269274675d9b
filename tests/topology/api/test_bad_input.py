"""Careless or hostile input that used to end in a 500 (or Django's HTML page) gets a 4xx in the
API's one error shape, and changes nothing."""

import json

import pytest
from django.conf import settings

from tests.topology.conftest import EXAMPLE_NAME, EXAMPLE_PATH
from tests.topology.helpers import deployment_url, error
from topology_editor.models import AuditEntry, Deployment

HUGE_EXPONENT = "1e9999999999999999999999"  # kubernetes' parse_quantity raised ValueError
CPU = "spec.statefulEntities[0].pods[0].resources.requests.cpu"


def _unchanged(deployment: Deployment) -> None:
    deployment.refresh_from_db()
    assert deployment.resource_version == 1
    assert AuditEntry.objects.count() == 1


def test_a_quantity_beyond_any_number_is_an_invalid_spec_through_the_api(api, example):
    manifest = api("editor").get(deployment_url(EXAMPLE_NAME)).json()
    manifest["spec"]["statefulEntities"][0]["pods"][0]["resources"]["requests"]["cpu"] = HUGE_EXPONENT
    response = api("editor").put(deployment_url(EXAMPLE_NAME), manifest, format="json")
    assert error(response) == (400, "invalid_spec", [(CPU, "invalid_value")])
    assert f"'{HUGE_EXPONENT}' is too large" in response.json()["error"]["message"]
    _unchanged(example)


def test_a_quantity_beyond_any_number_is_an_invalid_spec_through_yaml(api, example):
    text = EXAMPLE_PATH.read_text().replace("requests: {cpu: 250m,", f"requests: {{cpu: {HUGE_EXPONENT},")
    response = api("editor").generic(
        "POST", "/api/deployments/import/", text, content_type="application/yaml"
    )
    assert error(response) == (400, "invalid_spec", [(CPU, "invalid_value")])
    _unchanged(example)


def test_an_if_match_of_five_thousand_digits_matches_no_version(api, example):
    response = api("editor").patch(
        deployment_url(EXAMPLE_NAME),
        {"spec": {"historyLimit": 4}},
        format="json",
        HTTP_IF_MATCH=f'"{"9" * 5000}"',
    )
    assert error(response)[:2] == (412, "stale_version")
    _unchanged(example)


def test_a_resource_version_of_five_thousand_digits_matches_no_version(api, example):
    manifest = api("editor").get(deployment_url(EXAMPLE_NAME)).json()
    manifest["metadata"]["resourceVersion"] = "9" * 5000
    manifest["spec"]["historyLimit"] = 4
    response = api("editor").put(deployment_url(EXAMPLE_NAME), manifest, format="json")
    assert error(response)[:2] == (412, "stale_version")
    _unchanged(example)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", deployment_url(EXAMPLE_NAME)),
        ("POST", "/api/deployments/"),
        ("POST", "/api/deployments/import/"),
    ],
)
def test_a_json_body_over_the_upload_limit_is_too_large_in_the_api_shape(api, example, method, path):
    body = json.dumps({"padding": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = api("editor").generic(method, path, body, content_type="application/json")
    assert response["Content-Type"] == "application/json"
    assert error(response)[:2] == (413, "too_large")
    _unchanged(example)


def test_a_put_with_a_hundred_thousand_unknown_keys_reports_the_first_hundred_and_counts_the_rest(
    api, example
):
    manifest = api("editor").get(deployment_url(EXAMPLE_NAME)).json()
    manifest["spec"].update({f"key{i}": i for i in range(100_000)})
    response = api("editor").put(deployment_url(EXAMPLE_NAME), manifest, format="json")
    status, code, fields = error(response)
    assert (status, code, len(fields)) == (400, "invalid_spec", 101)
    assert fields[0] == ("spec.key0", "unknown_field")
    assert fields[-1] == ("", "too_many_errors")
    last = response.json()["error"]["fields"][-1]["message"]
    assert last == "99900 more problems were found; only the first 100 are listed"
    assert len(response.content) < 20_000
    _unchanged(example)
