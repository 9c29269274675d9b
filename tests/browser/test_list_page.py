"""The deployments list (issue 18 item 7) in the real Chromium against the real server: rows
appear and disappear live when deployments are created and deleted elsewhere, a deployment is
deleted from the page after a confirmation naming what goes, the whole list uses one websocket,
and staff get a link to the admin."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, screenshot, shown_after_publishing
from tests.browser.payloads import payload

NON_STAFF_VIEWER = """
from django.contrib.auth.models import Group, User
user, _ = User.objects.get_or_create(username=%r)
user.set_password(%r)
user.is_staff = False
user.save()
user.groups.set([Group.objects.get(name="viewer")])
"""


def _open_list(page: Page, server: Server) -> list[str]:
    """Opens the list with its socket live; returns the URLs of the websockets the page opens."""
    page.goto("about:blank")  # the sign-in lands on the list: its socket is not this visit's
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(f"{server.url}/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    expect(page.locator("#deployments[data-loaded]")).to_have_count(1)
    return sockets


def test_rows_appear_and_disappear_live_over_one_socket_for_the_whole_list(login, example, server) -> None:
    example("listed-one")
    example("listed-two")
    page = login("viewer")
    sockets = _open_list(page, server)
    expect(page.locator('#deployments tr[data-name="listed-two"]')).to_be_visible()
    links = page.locator('#deployments tr[data-name="listed-two"] a')
    expect(links).to_have_text(["listed-two", "metrics", "topics", "revisions"])
    assert [links.nth(i).get_attribute("href") for i in range(4)] == [
        f"/deployments/listed-two/{page}" for page in ("", "metrics/", "topics/", "revisions/")
    ]

    created = example("listed-live")  # by the owner, through the API, while the page is open
    row = page.locator('#deployments tr[data-name="listed-live"]')
    expect(row).to_be_visible()
    expect(row.locator('[data-field="entities"]')).to_have_text("2")

    for k in range(3):  # a burst: each announced, the list reloaded one at a time
        example(f"listed-burst-{k}")
    expect(page.locator('#deployments tr[data-name^="listed-burst-"]')).to_have_count(3)

    version = created["metadata"]["resourceVersion"]
    deleted = server.api(
        "owner", "DELETE", "/api/deployments/listed-live/", headers={"If-Match": f'"{version}"'}
    )
    assert deleted.status_code == 204, deleted.text
    expect(row).to_have_count(0)

    # Each row's status comes over the same socket, from the collector's messages.
    live = payload("listed-one", 1)
    live["status"]["currentRevision"] = "listed-one-live"
    shown_after_publishing(
        page, live, '#deployments tr[data-name="listed-one"] [data-status=currentRevision]', "listed-one-live"
    )
    assert [url.split("/", 3)[3] for url in sockets] == ["ws/deployments/"], sockets
    # A viewer may not delete, nor create.
    expect(page.locator("button.delete")).to_have_count(0)
    expect(page.locator("#create")).to_have_count(0)


def test_an_editor_deletes_a_deployment_after_a_confirmation_naming_what_goes(login, example, server) -> None:
    example("doomed")
    page = login("editor")
    watcher = login("viewer")  # another user's list, open meanwhile
    _open_list(watcher, server)
    _open_list(page, server)
    row = page.locator('#deployments tr[data-name="doomed"]')

    row.locator("button.delete").click()
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#delete-title")).to_have_text("Delete doomed?")
    items = dialog.locator("#delete-what li")
    expect(items.nth(1)).to_have_text("2 entities: splitter, totals")
    expect(items.nth(2)).to_contain_text("pods: splitter-0, splitter-1, splitter-2")
    expect(items.nth(3)).to_have_text("1 revision and the reconcile runs")
    screenshot(page, "delete-confirmation.png")

    page.click("#delete-cancel")  # cancelling deletes nothing
    expect(dialog).to_be_hidden()
    assert server.api("owner", "GET", "/api/deployments/doomed/").status_code == 200

    row.locator("button.delete").click()
    page.click("#delete-confirm")
    expect(dialog).to_be_hidden()
    expect(row).to_have_count(0)
    expect(page.locator("#list-message")).to_have_text("Deleted doomed.")
    assert server.api("owner", "GET", "/api/deployments/doomed/").status_code == 404
    expect(watcher.locator('#deployments tr[data-name="doomed"]')).to_have_count(0)


def test_a_deletion_refused_because_the_spec_changed_says_so_and_deletes_nothing(
    login, example, server
) -> None:
    created = example("changed-meanwhile")
    page = login("editor")
    _open_list(page, server)
    page.locator('#deployments tr[data-name="changed-meanwhile"] button.delete').click()
    expect(page.locator("#delete-dialog")).to_be_visible()
    manifest = created
    manifest["spec"]["historyLimit"] = 9
    version = manifest["metadata"]["resourceVersion"]
    changed = server.api(
        "owner",
        "PUT",
        "/api/deployments/changed-meanwhile/",
        json=manifest,
        headers={"If-Match": f'"{version}"'},
    )
    assert changed.status_code == 200, changed.text

    page.click("#delete-confirm")
    expect(page.locator("#delete-error")).to_contain_text(
        "Not deleted: deployment 'changed-meanwhile' is at version 2"
    )
    assert server.api("owner", "GET", "/api/deployments/changed-meanwhile/").status_code == 200


def test_staff_get_a_link_to_the_admin_and_others_do_not(login, server) -> None:
    page = login("viewer")  # the session's personas are staff
    page.goto(f"{server.url}/")
    expect(page.locator("#admin-link")).to_have_attribute("href", "/admin/")
    server.manage("shell", "-c", NON_STAFF_VIEWER % ("list-non-staff", "list-non-staff-password"))
    other = login("list-non-staff")
    other.goto(f"{server.url}/")
    expect(other.locator("#deployments[data-loaded]")).to_have_count(1)
    expect(other.locator("#admin-link")).to_have_count(0)


def test_the_placeholder_row_says_loading_then_empty_or_the_error(login, server) -> None:
    """The one row the table shows without deployments: "Loading…" until the first answer, "No
    deployments yet." for an empty list, and the API's error message when the list fails. The
    browser's own interception holds or answers the list request; the page and server are real."""
    page = login("viewer")
    # Away from the list the sign-in landed on first: its socket, opening late, would ask for
    # the list once more, and that request would be held here instead of the new page's.
    page.goto("about:blank")
    placeholder = page.locator("#deployments tr.placeholder")
    held: list = []
    page.route("**/api/deployments/", lambda route: held.append(route))
    page.goto(f"{server.url}/")
    expect(placeholder).to_have_text("Loading…")
    for _ in range(200):  # the held request; the page's waits let Playwright run the handler
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page never asked for the list"
    empty = '{"count": 0, "next": null, "results": []}'
    held[0].fulfill(status=200, content_type="application/json", body=empty)
    expect(placeholder).to_have_text("No deployments yet.")
    expect(page.locator("#deployments tr[data-name]")).to_have_count(0)

    page.unroute("**/api/deployments/")
    error = '{"error": {"code": "unavailable", "message": "The database does not answer."}}'
    page.route(
        "**/api/deployments/",
        lambda route: route.fulfill(status=503, content_type="application/json", body=error),
    )
    page.reload()
    expect(placeholder.locator("td.error")).to_have_text("The database does not answer.")
