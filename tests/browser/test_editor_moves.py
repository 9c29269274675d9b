"""The editor saves each intent by its own path (issue 13, item 4): a drag that only moves
partitions is saved as a batch of moves, and its audit entry says which partition went where;
a drag saved together with another edit is one whole-manifest save, still one revision, whose
audit entry names the move too."""

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server


def _open(login, server: Server, name: str) -> Page:
    page = login("editor")
    page.goto(f"{server.url}/deployments/{name}/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    return page


def _drag(page: Page, partition: int, from_pod: str, to_pod: str) -> None:
    chip = page.locator(f'.pod[data-name="{from_pod}"] .chip[data-partition="{partition}"]')
    chip.drag_to(page.locator(f'.pod[data-name="{to_pod}"]'))
    expect(page.locator(f'.pod[data-name="{to_pod}"] .chip[data-partition="{partition}"]')).to_have_count(1)


def _save(page: Page) -> list[tuple[str, str]]:
    """Clicks Save; the API requests that sent the change (method, path)."""
    sent: list[tuple[str, str]] = []
    page.on(
        "request",
        lambda r: r.method != "GET" and "/api/" in r.url and sent.append((r.method, r.url.split("/api/")[1])),
    )
    page.click("#save")
    expect(page.locator("#message")).to_contain_text("reconcile requested")
    expect(page.locator("#dirty")).to_be_hidden()
    return sent


def _records(server: Server, name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def listed(path: str) -> list[dict[str, Any]]:
        body = server.api("owner", "GET", f"/api/deployments/{name}/{path}/").json()
        return body.get("results", body)

    return listed("revisions"), listed("audit")


def test_dragging_partitions_saves_them_as_moves_in_one_revision(login, example, server: Server) -> None:
    example("moved")
    page = _open(login, server, "moved")
    _drag(page, 0, "splitter-0", "splitter-1")
    _drag(page, 5, "splitter-2", "splitter-0")

    assert _save(page) == [("POST", "deployments/moved/moves/")]
    revisions, audit = _records(server, "moved")
    assert len(revisions) == 2  # the import's, and this save's
    latest = audit[0]
    assert (latest["actor"], latest["interface"], latest["action"]) == ("editor", "ui", "move_partition")
    assert latest["summary"] == (
        "moved partition 0 of splitter from splitter-0 to splitter-1; "
        "moved partition 5 of splitter from splitter-2 to splitter-0"
    )
    assert latest["revision"] == revisions[0]["name"]
    # The page took the saved spec and version: a second drag saves on top of it.
    _drag(page, 0, "splitter-1", "splitter-2")
    assert _save(page) == [("POST", "deployments/moved/moves/")]
    assert (
        _records(server, "moved")[1][0]["summary"]
        == "moved partition 0 of splitter from splitter-1 to splitter-2"
    )


def test_a_drag_saved_with_another_edit_is_one_revision_naming_both(login, example, server: Server) -> None:
    example("moved-and-edited")
    page = _open(login, server, "moved-and-edited")
    _drag(page, 2, "splitter-1", "splitter-0")
    field = page.get_by_label("History limit", exact=True)
    field.fill("7")
    field.press("Tab")

    assert _save(page) == [("PUT", "deployments/moved-and-edited/")]
    revisions, audit = _records(server, "moved-and-edited")
    assert len(revisions) == 2
    assert (audit[0]["action"], audit[0]["summary"]) == (
        "update",
        "updated the spec; moved partition 2 of splitter from splitter-1 to splitter-0",
    )
    spec = server.api("owner", "GET", "/api/deployments/moved-and-edited/").json()["spec"]
    assert spec["historyLimit"] == 7
    assert spec["statefulEntities"][0]["pods"][0]["partitions"] == [0, 1, 2]
