"""One error shape everywhere under /api/, with a stable code, a message and field paths."""

import pytest
from django.test import Client

from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error
from topology_editor.models import AuditEntry


def test_an_unrouted_api_url_is_not_found_in_the_api_shape(api, db):
    assert error(Client().get("/api/nothing-here/")) == (404, "not_found", [])


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_every_unrouted_api_url_is_a_json_404_naming_it_even_in_debug(db, settings, debug):
    """``./dev up`` runs with DEBUG on, where Django's own HTML page would answer."""
    settings.DEBUG = debug
    response = Client().get("/api/nothing-here/")
    assert error(response) == (404, "not_found", [])
    assert response.json()["error"]["message"].startswith("no API route at /api/nothing-here/")


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_write_to_an_api_url_without_its_slash_is_told_the_url_and_changes_nothing(
    api, example, settings, debug
):
    """DEBUG's APPEND_SLASH answered such a POST with a 500 (and without DEBUG, a redirect that a
    client follows as a GET)."""
    settings.DEBUG = debug
    before = AuditEntry.objects.count()
    response = api("editor").post("/api/deployments", {"apiVersion": "x"}, format="json")
    assert error(response)[:2] == (404, "not_found")
    assert "needs its trailing slash, /api/deployments/" in response.json()["error"]["message"]
    assert AuditEntry.objects.count() == before


def test_a_read_of_an_api_url_without_its_slash_is_redirected_with_its_query(api, example, settings):
    settings.DEBUG = True
    response = api("viewer").get("/api/deployments?page=1")
    assert response.status_code == 301
    assert response["Location"] == "/api/deployments/?page=1"


def test_the_browsable_apis_sign_in_page_is_still_routed(db):
    assert Client().get("/api/auth/login/").status_code == 200


def test_urls_outside_the_api_keep_djangos_pages(db):
    response = Client().get("/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unexpected_failure_is_a_server_error_in_the_api_shape(example, personas, monkeypatch):
    monkeypatch.setattr("topology_editor.api.views.history.StatusSerializer", None)  # a bug
    client = Client(raise_request_exception=False)
    client.force_login(personas.owner)
    assert error(client.get(deployment_url(EXAMPLE_NAME, "status"))) == (500, "server_error", [])


def test_an_unsupported_method_is_refused(api, example):
    assert error(api("owner").post(deployment_url(EXAMPLE_NAME, "status")))[:2] == (405, "method_not_allowed")


def test_malformed_json_is_a_malformed_request(api, example):
    response = api("editor").generic(
        "PUT", deployment_url(EXAMPLE_NAME), "{not json", content_type="application/json"
    )
    assert error(response)[:2] == (400, "malformed_request")


def test_an_unacceptable_answer_format_is_refused(api, example):
    response = api("viewer").get(deployment_url(EXAMPLE_NAME), HTTP_ACCEPT="text/csv")
    assert error(response)[:2] == (406, "not_acceptable")


def test_a_wrong_token_is_not_authenticated(db):
    response = Client().get("/api/deployments/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert error(response)[:2] == (401, "not_authenticated")


def test_a_page_beyond_the_last_is_not_found(api, example):
    assert error(api("viewer").get("/api/deployments/?page=9"))[:2] == (404, "not_found")


@pytest.mark.parametrize("interface", ["session", "token"])
def test_a_browser_session_is_the_ui_and_a_token_the_api(api, example, personas, interface):
    body = {"entity": "splitter", "partition": 3, "to_pod": "splitter-0"}
    if interface == "session":
        client = Client()
        client.force_login(personas.editor)
        client.post(deployment_url(EXAMPLE_NAME, "move"), body, content_type="application/json")
    else:
        api("editor").post(deployment_url(EXAMPLE_NAME, "move"), body, format="json")
    assert AuditEntry.objects.latest("id").interface == ("ui" if interface == "session" else "api")


def test_a_session_write_without_the_csrf_token_is_refused(example, personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.editor)
    response = client.post(
        deployment_url(EXAMPLE_NAME, "move"),
        {"entity": "splitter", "partition": 3, "to_pod": "splitter-0"},
        content_type="application/json",
    )
    assert error(response)[:2] == (403, "permission_denied")


def test_a_protected_object_is_a_conflict_listing_its_dependents():
    from django.db.models import ProtectedError
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from topology_editor.api.errors import exception_handler

    request = Request(APIRequestFactory().delete("/api/deployments/x/"))
    response = exception_handler(ProtectedError("in use", {"revision x-1"}), {"request": request})
    assert response.status_code == 409
    assert response.data["error"]["fields"] == [
        {"path": "revision x-1", "message": "depends on it", "code": "protected"}
    ]
