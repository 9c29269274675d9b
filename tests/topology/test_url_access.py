"""Every URL the project routes, found by walking the URL resolver, refuses anonymous users
and users without the role it needs; only the health probes and the login pages are open.

A new URL fails :func:`test_every_url_is_classified` until it is added to a table here, so
that nobody ships an endpoint whose access nobody decided.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import error
from topology_editor.models import AuditEntry, Deployment, ReconcileRun, Revision

#: Open to anyone: probes carry no session, one must reach the login pages to log in, and
#: browsers ask for the icon (a redirect to a static file) before anyone signs in.
OPEN = {
    "favicon",
    "healthz",
    "readyz",
    "metrics",
    "admin:login",
    "admin:logout",
    "rest_framework:login",
    "rest_framework:logout",
    "pages:login",
    "pages:logout",
    # The API's last route: a JSON 404 for what no route matched, which tells nobody anything.
    "api:unknown",
}
#: The dashboard's pages (and Plotly's bundle); anonymous users go to their login.
PAGES = {"pages:deployment-list", "pages:editor", "pages:metrics", "pages:plotly-js"}
PAGES |= {"pages:revisions", "pages:revision-diff", "pages:revision-rollback", "pages:audit"}
#: The metrics page's history, and container logs (invoker_web/logs.py) with their reads.
PAGES |= {"pages:metrics-history", "logs", "logs-pods", "logs-tail"}
#: Topics, offsets and lag, and the record peek (invoker_web/topics.py).
PAGES |= {"topics", "topics-data", "topics-peek"}
#: The pages of one deployment need the viewer role; the others any signed-in user.
VIEWER_PAGES = {"pages:editor", "pages:metrics", "pages:revisions", "pages:revision-diff", "pages:audit"}
VIEWER_PAGES |= {"pages:metrics-history", "topics", "topics-data"}
#: Logs need the editor role: viewers may not read them (docs/logs.md).
EDITOR_PAGES = {"logs", "logs-pods", "logs-tail"}
#: So does the peek at records (docs/topics.md): their keys and values are the users' data.
EDITOR_PAGES |= {"topics-peek"}
#: Rolling back, and its confirmation page, need the operator role.
OPERATOR_PAGES = {"pages:revision-rollback"}
#: Any signed-in user: the API's description.
SIGNED_IN = {"api:schema", "api:docs", "api:spec-schema"}
OPERATOR_ONLY = {
    "api:entity-rebalance",
    "api:entity-rebalance-load",
    "api:entity-scale",
    "api:revision-rollback",
    "api:revision-bad",
    "api:pod-drain",
    "api:entity-autoscale-apply",
    "api:entity-canary-promote",
    "api:entity-canary-abort",
}
#: Viewers read these; only operators change them.
OPERATOR_WRITES = {"api:deployment-automation", "api:entity-autoscale", "api:entity-canary"}
RANKS = ["outsider", "viewer", "editor", "operator", "owner"]
#: Admin pages of this app: the role that may open them (None: nobody, not even the owner).
ADMIN_PAGES = {
    "deployment": {
        "changelist": "viewer",
        "change": "viewer",
        "history": "viewer",
        "add": "editor",
        "delete": "editor",
    },
    **{
        model: {"changelist": "viewer", "change": "viewer", "history": "viewer", "add": None, "delete": None}
        for model in ("revision", "reconcilerun", "auditentry")
    },
}


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    methods: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name or self.pattern}"


def _walk(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = (
                f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace
            )
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner or namespace)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name or ""
            actions = getattr(pattern.callback, "actions", None)
            methods = tuple(actions) if actions else ("get", "post")
            yield Route(name, prefix + str(pattern.pattern), methods)


ROUTES = list(_walk(get_resolver().url_patterns))
PROTECTED = [route for route in ROUTES if route.name not in OPEN]
API = [route for route in PROTECTED if route.name.startswith("api:")]


def concrete(route: Route, values: dict[str, str]) -> str:
    """The route with every parameter replaced by a sample value."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), route.pattern)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values.get(m.group(1), "x"), path)
    return "/" + path.replace("^", "").replace("$", "")


@pytest.fixture
def samples(example, personas) -> dict[str, str]:
    """A value for every URL parameter, naming objects that exist."""
    return {
        "name": EXAMPLE_NAME, "entity": "splitter", "pod": "splitter-0", "container": "udf",
        "revision": example.revisions.get().name, "object_id": str(example.pk),
        "id": str(personas.viewer.pk), "app_label": "topology_editor", "url": "elsewhere/",
    }  # fmt: skip


def test_every_url_is_classified() -> None:
    for route in ROUTES:
        known = (
            route.name in OPEN
            or route.name in PAGES
            or route.name.startswith(("api:", "admin:"))
            or route.pattern.startswith("admin/")
        )
        assert known, f"{route.pattern} ({route.name}): decide who may use it, in {__name__}"


def test_the_health_probes_answer_anonymous_callers(client) -> None:
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("route", PROTECTED, ids=str)
def test_anonymous_users_are_refused(client: Client, samples, route: Route) -> None:
    for method in route.methods:
        response = getattr(client, method)(concrete(route, samples))
        if route.name.startswith("api:"):
            assert error(response)[:2] == (401, "not_authenticated"), (method, route)
            assert response["WWW-Authenticate"] == "Token"
        else:
            login = "/accounts/login/" if route.name in PAGES else "/admin/login/"
            redirect = (response.status_code, response["Location"][: len(login)])
            assert redirect == (302, login), (method, route)


def _required(route: Route, method: str) -> str:
    if route.name in SIGNED_IN:
        return "outsider"
    if route.name in OPERATOR_ONLY:
        return "operator"
    if route.name in OPERATOR_WRITES and method != "get":
        return "operator"
    return "viewer" if method == "get" else "editor"


@pytest.mark.parametrize("route", API, ids=str)
@pytest.mark.parametrize("persona", RANKS)
def test_api_users_without_the_role_are_refused_and_with_it_let_through(api, samples, route, persona) -> None:
    for method in route.methods:
        response = getattr(api(persona), method)(concrete(route, samples), {}, format="json")
        allowed = RANKS.index(persona) >= RANKS.index(_required(route, method))
        if allowed:
            assert response.status_code not in (401, 403), (method, route, response.content[:300])
        else:
            assert error(response)[:2] == (403, "permission_denied"), (method, route)


PAGE_ROUTES = [route for route in ROUTES if route.name in PAGES]


@pytest.mark.parametrize("route", PAGE_ROUTES, ids=str)
@pytest.mark.parametrize("persona", RANKS)
def test_pages_need_a_sign_in_and_a_deployments_pages_the_viewer_role(
    client, samples, personas, route, persona
) -> None:
    client.force_login(personas[persona])
    status = client.get(concrete(route, samples)).status_code
    needs_viewer = route.name in VIEWER_PAGES and persona == "outsider"
    needs_operator = route.name in OPERATOR_PAGES and RANKS.index(persona) < RANKS.index("operator")
    needs_editor = route.name in EDITOR_PAGES and RANKS.index(persona) < RANKS.index("editor")
    # No pod runs in the tests' state directory: past the role check, a log read is a 404.
    # A peek without a topic is a 400 naming it.
    allowed = {"logs-tail": 404, "topics-peek": 400}.get(route.name, 200)
    assert status == (403 if needs_viewer or needs_operator or needs_editor else allowed), (route, persona)


@pytest.mark.parametrize("page", ["editor", "metrics"])
def test_a_user_without_a_role_cannot_tell_which_deployments_exist(client, example, personas, page) -> None:
    client.force_login(personas.outsider)
    existing = client.get(reverse(f"pages:{page}", args=[EXAMPLE_NAME]))
    missing = client.get(reverse(f"pages:{page}", args=["no-such-deployment"]))
    assert (existing.status_code, missing.status_code) == (403, 403)
    assert EXAMPLE_NAME.encode() not in existing.content
    client.force_login(personas.viewer)
    assert client.get(reverse(f"pages:{page}", args=["no-such-deployment"])).status_code == 404


ADMIN_CASES = [
    (f"admin:topology_editor_{model}_{page}", role)
    for model, pages in ADMIN_PAGES.items()
    for page, role in pages.items()
]


@pytest.mark.parametrize(("url_name", "role"), ADMIN_CASES)
@pytest.mark.parametrize("persona", RANKS)
def test_admin_pages_need_staff_and_the_role(client, samples, personas, url_name, role, persona) -> None:
    route = next(route for route in ROUTES if route.name == url_name)
    model = url_name.split("_")[2]
    objects = {
        "deployment": Deployment.objects.get(),
        "revision": Revision.objects.get(),
        "auditentry": AuditEntry.objects.get(),
        "reconcilerun": ReconcileRun.objects.create(
            deployment=Deployment.objects.get(), started_at=timezone.now()
        ),
    }
    client.force_login(personas[persona])
    response = client.get(concrete(route, {**samples, "object_id": str(objects[model].pk)}))
    if persona == "outsider":
        assert (response.status_code, response["Location"][:13]) == (302, "/admin/login/")
    elif role is not None and RANKS.index(persona) >= RANKS.index(role):
        assert response.status_code == 200, (url_name, persona)
    else:
        assert response.status_code == 403, (url_name, persona)


@pytest.mark.parametrize("url_name", ["admin:auth_user_changelist", "admin:auth_group_changelist"])
@pytest.mark.parametrize("persona", ["viewer", "editor", "operator"])
def test_roles_give_no_access_to_users_and_groups(db, client, personas, url_name, persona) -> None:
    client.force_login(personas[persona])
    route = next(route for route in ROUTES if route.name == url_name)
    assert client.get(concrete(route, {})).status_code == 403


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_every_response_carries_the_content_security_policy(client, samples, personas, route) -> None:
    """Our origin only, no inline code, no framing by other sites (settings.CONTENT_SECURITY_POLICY)."""
    for signed_in in (False, True):
        if signed_in:
            client.force_login(personas.owner)
        response = client.get(concrete(route, samples))
        policy = dict(
            directive.strip().split(" ", 1)
            for directive in response.get("Content-Security-Policy", "").split(";")
        )
        assert policy.get("default-src") == "'self'", (route, response.status_code)
        assert policy["script-src"] == policy["style-src"] == policy["connect-src"] == "'self'", route
        assert policy["frame-ancestors"] == "'self'"
        assert policy["object-src"] == "'none'"
