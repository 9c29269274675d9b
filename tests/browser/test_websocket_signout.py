"""In the browser: a metrics page whose user signs out (4401) or loses the role (4403) stops its
websocket at the next payload, says so, and does not reconnect."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, publish
from tests.browser.payloads import payload

#: Longer than the page's first reconnect delay (500 ms): a reconnect would have happened.
RECONNECT_WINDOW_MS = 2000

GRANT_VIEWER = """
from django.contrib.auth.models import Group, User
user, _ = User.objects.get_or_create(username=%r)
user.set_password(%r)
user.save()
user.groups.set([Group.objects.get(name="viewer")])
"""
REVOKE = """
from django.contrib.auth.models import User
User.objects.get(username=%r).groups.clear()
"""


def _watch(page: Page, server: Server, name: str) -> list[str]:
    """Opens the metrics page of ``name`` with its socket open; returns the sockets it opens."""
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(f"{server.url}/deployments/{name}/metrics/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    return sockets


def _publish_until_closed(page: Page, name: str, state: str) -> None:
    for tick in range(1, 20):
        publish(payload(name, tick))
        if page.locator(f"#conn[data-state={state}]").count():
            return
        page.wait_for_timeout(250)
    expect(page.locator("#conn")).to_have_attribute("data-state", state)


def test_signing_out_in_another_tab_stops_the_stream_and_the_page_says_so(login, example, server) -> None:
    example("signout-watched")
    page = login("viewer")
    sockets = _watch(page, server, "signout-watched")
    other = page.context.new_page()
    other.goto(f"{server.url}/")
    other.click("form.who button[type=submit]")  # Sign out: the session is gone for both tabs
    other.wait_for_url(f"{server.url}/accounts/login/")

    _publish_until_closed(page, "signout-watched", "unauthenticated")
    expect(page.locator("#conn")).to_contain_text("signed out")
    # Under load a socket may have been lost and re-opened before the sign-out took effect; what
    # matters is that none opens after the final close.
    opened = len(sockets)
    page.wait_for_timeout(RECONNECT_WINDOW_MS)
    assert len(sockets) == opened, sockets
    expect(page.locator("#conn")).to_have_attribute("data-state", "unauthenticated")


def test_losing_the_role_stops_the_stream_and_the_page_says_so(login, example, server) -> None:
    example("revoked-watched")
    server.manage("shell", "-c", GRANT_VIEWER % ("ws-revoked", "ws-revoked-password"))
    page = login("ws-revoked")
    sockets = _watch(page, server, "revoked-watched")
    server.manage("shell", "-c", REVOKE % "ws-revoked")

    _publish_until_closed(page, "revoked-watched", "forbidden")
    expect(page.locator("#conn")).to_contain_text("role does not allow")
    opened = len(sockets)
    page.wait_for_timeout(RECONNECT_WINDOW_MS)
    assert len(sockets) == opened, sockets
