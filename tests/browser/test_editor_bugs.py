"""The editor's bugs of issue 14, item 5, each against the real server in real Chromium: edges
drawn between the right nodes, the YAML tab hiding the graph, YAML edits not lost silently, a
name pattern the browser accepts, a favicon, and a status bar that stays one line."""

import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.conftest import create_deployment as create


def entity(name: str, input_topic: str, output_topic: str) -> dict:
    return {
        "name": name, "executorImage": "invoker/executor:0.1", "ioAddress": "127.0.0.1:9092",
        "inputTopic": input_topic, "outputTopic": output_topic,
        "pods": [{"name": f"{name}-0", "partitions": [0]}],
    }  # fmt: skip


def open_editor(page: Page, server: Server, name: str) -> None:
    page.goto(f"{server.url}/deployments/{name}/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)


EDGE_ENDS = """() => {
  const edge = document.querySelector(".edge");
  // M x1,y1 C mid,y1 mid,y2 x2,y2
  const numbers = edge.querySelector("path").getAttribute("d").match(/-?[\\d.]+/g).map(Number);
  const [x1, x2] = [numbers[0], numbers[6]];
  const node = (i) => document.querySelector(`.entity[data-entity="${i}"]`);
  const from = node(edge.dataset.from); const to = node(edge.dataset.to);
  return { x1, x2, fromRight: from.offsetLeft + from.offsetWidth, toLeft: to.offsetLeft,
           from: from.dataset.name, to: to.dataset.name };
}"""


def test_edges_join_the_right_nodes_when_an_entity_has_no_connections(login, server: Server) -> None:
    # Entity order totals, lonely, splitter; the layers put lonely and splitter first, totals
    # second, so the DOM order (lonely, splitter, totals) is not the entity order.
    create(server, "bug-edges", [
        entity("totals", "words", "counts"), entity("lonely", "nothing-in", "nothing-out"),
        entity("splitter", "lines", "words"),
    ])  # fmt: skip
    page = login("viewer")
    open_editor(page, server, "bug-edges")
    expect(page.locator(".edge")).to_have_count(1)
    ends = page.evaluate(EDGE_ENDS)
    assert (ends["from"], ends["to"]) == ("splitter", "totals"), ends
    assert abs(ends["x1"] - ends["fromRight"]) < 1, ends
    assert abs(ends["x2"] - ends["toLeft"]) < 1, ends


def test_the_yaml_tab_hides_the_graph_and_shows_import_errors_in_view(login, example, server: Server) -> None:
    example("bug-yaml-tab")
    page = login("editor")
    open_editor(page, server, "bug-yaml-tab")
    page.click("#tab-yaml")
    expect(page.locator("#graph-view")).to_be_hidden()
    expect(page.locator("#yaml")).to_be_visible()
    text = page.locator("#yaml").input_value()
    page.locator("#yaml").fill(text.replace("historyLimit: 5", "historyLimit: many"))
    page.click("#yaml-apply")
    expect(page.locator("#errors")).to_contain_text("spec.historyLimit")
    expect(page.locator("#errors")).to_be_in_viewport()
    page.once("dialog", lambda dialog: dialog.accept())  # the typed edits are not kept
    page.click("#tab-graph")
    expect(page.locator("#graph-view")).to_be_visible()
    expect(page.locator("#yaml-view")).to_be_hidden()


def test_yaml_edits_are_not_lost_silently_on_a_tab_switch(login, example, server: Server) -> None:
    example("bug-yaml-edits")
    page = login("editor")
    open_editor(page, server, "bug-yaml-edits")
    page.click("#tab-yaml")
    edited = page.locator("#yaml").input_value().replace("historyLimit: 5", "historyLimit: 9")
    page.locator("#yaml").fill(edited)

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#tab-graph")
    expect(page.locator("#yaml-view")).to_be_visible()  # the user chose to stay
    assert len(asked) == 1, asked
    assert "YAML" in asked[0], asked
    expect(page.locator("#yaml")).to_have_value(edited)

    # An undo while the box holds typed edits does not overwrite them either.
    page.locator("#yaml").blur()
    page.keyboard.press("Control+z")
    expect(page.locator("#yaml")).to_have_value(edited)

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#tab-graph")
    expect(page.locator("#graph-view")).to_be_visible()
    page.click("#tab-yaml")
    expect(page.locator("#yaml")).not_to_have_value(edited)  # discarded on request, shown afresh


def test_the_new_deployment_name_is_checked_by_the_browser_without_console_errors(
    login, server: Server
) -> None:
    page = login("editor")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.url}/")
    name = page.locator("#create input[name=name]")
    name.fill("Bad_Name")
    mismatch = "() => document.querySelector('#create input[name=name]').validity.patternMismatch"
    assert page.evaluate(mismatch)
    name.fill("good-name-1")
    assert not page.evaluate(mismatch)
    assert not [e for e in errors if "pattern" in e.lower() or "regular expression" in e.lower()], errors


def test_the_favicon_is_served(login, server: Server) -> None:
    response = requests.get(f"{server.url}/favicon.ico", timeout=30)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("image/"), response.headers
    page = login("viewer")
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(f"{server.url}/")
    page.wait_for_load_state("networkidle")
    assert not failed, failed


def test_a_long_revision_name_does_not_wrap_the_status_bar(login, example, server: Server) -> None:
    example("bug-status")
    page = login("viewer")
    open_editor(page, server, "bug-status")
    status = page.locator("#status")
    before = status.bounding_box()
    editor_top = page.locator("#editor").bounding_box()["y"]
    page.evaluate(
        """() => {
      const long = "bug-status-" + "a-very-long-revision-name-".repeat(12);
      for (const key of ["currentRevision", "nextRevision"]) {
        document.querySelector(`#status [data-status=${key}]`).textContent = long;
      }
      document.querySelector("#status [data-status=message]").textContent = "waiting ".repeat(60);
    }"""
    )
    after = status.bounding_box()
    assert after["height"] == before["height"], (before, after)
    assert page.locator("#editor").bounding_box()["y"] == editor_top
    assert after["width"] <= page.viewport_size["width"]
