"""No request body is parsed before authentication and the role check have passed.

DRF's session authentication checks the CSRF token through ``request.POST``, which parsed the
body with the view's parsers (YAML included) before any role check: a signed-in user with no
role and no CSRF token could make a worker load a 470-byte YAML merge bomb (16 s, 235 MB) or
1,000 levels of JSON (a RecursionError, a 500). A spy on the parsers shows what was read.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from rest_framework import parsers

from tests.topology.conftest import EXAMPLE_NAME, EXAMPLE_PATH
from tests.topology.helpers import deployment_url, error
from tests.unit.spec_helpers import merge_key_bomb
from topology_editor.api.parsers import YAMLParser
from topology_editor.models import Deployment

IMPORT = "/api/deployments/import/"
BOMB = merge_key_bomb()
NESTED_JSON = "[" * 1000 + "]" * 1000  # 2 KB


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The media type of every body a parser read during the test (the real parsers still run)."""
    calls: list[str] = []
    for parser in (YAMLParser, parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser):

        def spy(
            self: Any, stream: Any, media_type: Any = None, context: Any = None, _real=parser.parse
        ) -> Any:
            calls.append(self.media_type)
            return _real(self, stream, media_type, context)

        monkeypatch.setattr(parser, "parse", spy)
    return calls


def session(user: Any, csrf: bool, cookie: bool = True) -> Client:
    """A browser session of ``user`` with the CSRF cookie any page sets; with ``csrf``, it also
    sends the matching token in its header, as the dashboard's pages do."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    request = RequestFactory().get("/")
    token = get_token(request)
    if cookie:
        client.cookies[settings.CSRF_COOKIE_NAME] = request.META["CSRF_COOKIE"]
    if csrf:
        client.defaults["HTTP_X_CSRFTOKEN"] = token
    return client


WAYS = ("session without CSRF cookie", "session without CSRF token", "session with CSRF token", "token")


@pytest.fixture
def outsider_clients(api: Callable, personas: Any) -> dict[str, Any]:
    """The ways a signed-in user with no role can send a request (see :data:`WAYS`)."""
    return dict(
        zip(
            WAYS,
            [
                session(personas.outsider, csrf=False, cookie=False),
                session(personas.outsider, csrf=False),
                session(personas.outsider, csrf=True),
                api("outsider"),
            ],
            strict=True,
        )
    )


@pytest.mark.timeout(30)  # a hang guard: parsing the bomb took 16 s
@pytest.mark.parametrize("way", WAYS)
def test_a_merge_bomb_from_a_user_without_a_role_is_refused_unread(outsider_clients, parsed, way):
    response = outsider_clients[way].generic("POST", IMPORT, BOMB, content_type="application/yaml")
    assert error(response)[:2] == (403, "permission_denied")
    assert parsed == []


@pytest.mark.parametrize("way", WAYS)
def test_deeply_nested_json_from_a_user_without_a_role_is_refused_unread(outsider_clients, parsed, way):
    response = outsider_clients[way].generic("POST", IMPORT, NESTED_JSON, content_type="application/json")
    assert error(response)[:2] == (403, "permission_denied")
    assert parsed == []


@pytest.mark.timeout(30)
def test_a_merge_bomb_from_an_editor_is_refused_naming_the_merge_key(api, db, parsed):
    response = api("editor").generic("POST", IMPORT, BOMB, content_type="application/yaml")
    assert error(response) == (400, "invalid_yaml", [("yaml", "yaml_syntax")])
    assert "line 2, column 10: merge keys (<<) are not supported" in response.json()["error"]["message"]
    assert parsed == ["application/yaml"]
    assert not Deployment.objects.exists()


@pytest.mark.parametrize(
    ("method", "url"),
    [("POST", IMPORT), ("POST", "/api/deployments/"), ("PUT", None), ("PATCH", None)],
)
def test_deeply_nested_json_from_an_editor_is_a_malformed_request(api, example, method, url):
    url = url or deployment_url(EXAMPLE_NAME)
    response = api("editor").generic(method, url, NESTED_JSON, content_type="application/json")
    status, code, _ = error(response)
    assert (status, code) == (400, "malformed_request")
    assert "nested too deeply" in response.json()["error"]["message"]


def test_json_nested_just_past_the_limit_is_refused_before_anything_walks_it(api, example):
    body = '{"spec": ' * 100 + "{}" + "}" * 100
    response = api("editor").generic(
        "PATCH", deployment_url(EXAMPLE_NAME), body, content_type="application/json"
    )
    assert error(response)[:2] == (400, "malformed_request")
    assert "more than 64 levels" in response.json()["error"]["message"]


def test_an_editor_session_with_its_csrf_token_still_imports(personas, db, parsed):
    response = session(personas.editor, csrf=True).generic(
        "POST", IMPORT, EXAMPLE_PATH.read_bytes(), content_type="application/yaml"
    )
    assert response.status_code == 201, response.json()
    assert parsed == ["application/yaml"]


def test_an_editor_session_without_its_csrf_token_is_refused_unread(personas, db, parsed):
    response = session(personas.editor, csrf=False).generic(
        "POST", IMPORT, EXAMPLE_PATH.read_bytes(), content_type="application/yaml"
    )
    assert error(response)[:2] == (403, "permission_denied")
    assert "CSRF" in response.json()["error"]["message"]
    assert parsed == []


def test_a_form_upload_may_carry_its_csrf_token_as_a_form_field(personas, db):
    client = session(personas.editor, csrf=True)
    token = client.defaults.pop("HTTP_X_CSRFTOKEN")
    with EXAMPLE_PATH.open("rb") as upload:
        response = client.post(IMPORT, {"file": upload, "csrfmiddlewaretoken": token})
    assert response.status_code == 201, response.json()
