"""Drawing in the topology editor (issue 14, item 1) against the real server in real Chromium:
a wire dragged from one entity's output port to another connects them; nodes moved by dragging
keep their place (the ``invoker.io/layout`` annotation) through save, reload, export and import;
auto-layout on demand; pan, zoom, fit and the minimap of a graph larger than the view; finding an
entity by name."""

import json
import re

import yaml
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.conftest import create_deployment as create

LAYOUT = "invoker.io/layout"


def entity(name: str, input_topic: str, output_topic: str, pods: int = 1) -> dict:
    return {
        "name": name, "executorImage": "invoker/executor:0.1", "ioAddress": "127.0.0.1:9092",
        "inputTopic": input_topic, "outputTopic": output_topic,
        "pods": [{"name": f"{name}-{p}", "partitions": [p]} for p in range(pods)],
    }  # fmt: skip


def open_editor(page: Page, server: Server, name: str) -> None:
    page.goto(f"{server.url}/deployments/{name}/")
    expect(page.locator("body[data-loaded]")).to_have_count(1, timeout=60_000)
    # The presence bar (presence.js) is put above the graph once the socket opens: a drag begun
    # before it would end 40 px off.
    expect(page.locator("#presence")).to_be_visible()


def node(page: Page, name: str):
    return page.locator(f'#nodes .entity[data-name="{name}"]')


def centre(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page: Page, start: str, end: str | tuple[float, float]) -> None:
    """A real pointer drag, in steps, as a user's hand makes it, from the element `start` (hovered
    first: Playwright waits until it is still and would get the pointer) to the element or point `end`."""
    page.locator(start).hover()
    page.mouse.down()
    to = centre(page, end) if isinstance(end, str) else end
    page.mouse.move(*to, steps=10)
    page.mouse.up()


def position(page: Page, name: str) -> tuple[float, float]:
    box = node(page, name).evaluate("(n) => [n.offsetLeft, n.offsetTop]")
    return float(box[0]), float(box[1])


def spec_of(server: Server, name: str) -> dict:
    response = server.api("owner", "GET", f"/api/deployments/{name}/")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_wire_dragged_from_an_output_port_to_another_entity_connects_them(login, server: Server) -> None:
    create(server, "draw-wire", [entity("source", "lines", "words"), entity("sink", "other", "counts")])
    page = login("editor")
    open_editor(page, server, "draw-wire")
    expect(page.locator(".edge")).to_have_count(0)
    # Each node shows its topics as ports: an input on the left, an output on the right.
    expect(node(page, "source").locator(".port.in")).to_have_count(1)
    expect(node(page, "source").locator(".port.out")).to_have_attribute(
        "title", "output topic words: drag a wire to another entity"
    )

    port = '#nodes .entity[data-name="source"] .port.out'
    page.locator(port).hover()
    page.mouse.down()
    page.mouse.move(*centre(page, '#nodes .entity[data-name="sink"] header'), steps=8)
    expect(page.locator("#edges .wire")).to_have_count(1)  # the wire follows the pointer
    expect(node(page, "sink")).to_have_class("entity wire-target")
    page.mouse.up()
    expect(page.locator("#edges .wire")).to_have_count(0)
    expect(page.locator(".edge")).to_have_count(1)
    expect(page.locator(".edge text")).to_have_text("words")
    expect(page.locator("#message")).to_contain_text("sink now reads words from source")

    # A wire dropped on nothing (or on its own entity) changes nothing.
    drag(page, port, '#nodes .entity[data-name="source"] header')
    expect(page.locator(".edge")).to_have_count(1)
    page.click("#save")
    expect(page.locator("#message")).to_contain_text("Saved revision")
    assert spec_of(server, "draw-wire")["spec"]["statefulEntities"][1]["inputTopic"] == "words"
    # One undo step, as the dropdown's edit.
    page.click("#undo")
    expect(page.locator(".edge")).to_have_count(0)


def test_a_viewer_cannot_draw_a_wire(login, server: Server) -> None:
    create(server, "draw-wire-viewer", [entity("a", "x", "y"), entity("b", "z", "w")])
    page = login("viewer")
    open_editor(page, server, "draw-wire-viewer")
    drag(page, '#nodes .entity[data-name="a"] .port.out', '#nodes .entity[data-name="b"] header')
    expect(page.locator(".edge")).to_have_count(0)
    expect(page.locator("#message")).to_have_text("Your role cannot change this deployment.")


def test_auto_layout_puts_nodes_in_columns_by_their_connections(login, server: Server) -> None:
    create(server, "draw-auto", [entity("a", "t0", "t1"), entity("b", "t1", "t2"), entity("c", "t1", "t3")])
    page = login("editor")
    open_editor(page, server, "draw-auto")
    a, b, c = (position(page, n) for n in "abc")
    assert a[0] < b[0] == c[0], (a, b, c)  # b and c read a's topic: the next column
    assert b[1] < c[1], (b, c)
    drag(page, '#nodes .entity[data-name="c"] header b', (150, 800))
    moved = position(page, "c")
    assert moved != c, (moved, c)
    expect(page.locator("#dirty")).to_be_visible()
    page.click("#auto-layout")
    expect(node(page, "c")).to_have_css("left", f"{c[0]:.0f}px")
    assert position(page, "c") == c
    expect(page.locator("#dirty")).to_be_hidden()  # back where auto-layout had it: nothing to save


def test_moved_nodes_keep_their_place_through_save_reload_export_and_import(login, server: Server) -> None:
    create(server, "draw-move", [entity("a", "t0", "t1"), entity("b", "t1", "t2"), entity("c", "x", "y")])
    page = login("editor")
    open_editor(page, server, "draw-move")
    before = position(page, "b")
    drag(page, '#nodes .entity[data-name="b"] header b', (700, 700))
    moved = position(page, "b")
    assert moved[1] > before[1] + 100, (before, moved)
    expect(page.locator("#dirty")).to_be_visible()
    # The edge follows the moved node.
    d = page.locator(".edge path").get_attribute("d") or ""
    assert d.endswith(f"{moved[0]:.0f},{moved[1] + 30:.0f}"), (d, moved)
    page.click("#save")
    expect(page.locator("#message")).to_contain_text("Saved revision")
    expect(page.locator("#dirty")).to_be_hidden()

    saved = spec_of(server, "draw-move")
    positions = json.loads(saved["metadata"]["annotations"][LAYOUT])
    assert positions["b"] == list(moved), positions
    assert "layout" not in json.dumps(saved["spec"]), saved["spec"]  # the spec's contract is unchanged

    page.reload()
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    assert position(page, "b") == moved

    exported = server.api("owner", "GET", "/api/deployments/draw-move/export/")
    assert exported.status_code == 200, exported.text
    manifest = yaml.safe_load(exported.text)
    assert json.loads(manifest["metadata"]["annotations"][LAYOUT])["b"] == list(moved), manifest["metadata"]
    manifest["metadata"]["name"] = "draw-move-copy"
    imported = server.api(
        "owner", "POST", "/api/deployments/import/", data=yaml.safe_dump(manifest),
        headers={"Content-Type": "application/yaml"},
    )  # fmt: skip
    assert imported.status_code == 201, imported.text
    open_editor(page, server, "draw-move-copy")
    assert position(page, "b") == moved
    # The YAML tab shows the positions with the spec, so an export from there keeps them too.
    page.click("#tab-yaml")
    expect(page.locator("#yaml")).to_have_value(re.compile(re.escape(LAYOUT)))


def test_pan_zoom_fit_and_the_minimap_of_a_graph_larger_than_the_view(login, server: Server) -> None:
    create(server, "draw-big", [entity(f"e{k}", f"t{k}", f"t{k + 1}", pods=3) for k in range(14)])
    page = login("editor")
    open_editor(page, server, "draw-big")
    canvas = page.locator("#canvas")
    expect(page.locator("#minimap")).to_be_visible()  # 14 columns do not fit: an overview shows
    expect(page.locator("#minimap rect.node")).to_have_count(14)
    expect(page.locator("#minimap rect.viewport")).to_have_count(1)
    width = node(page, "e0").bounding_box()["width"]

    page.click("#zoom-in")
    expect(page.locator("#zoom-level")).to_have_text("125%")
    assert abs(node(page, "e0").bounding_box()["width"] - width * 1.25) < 2
    page.click("#zoom-out")
    expect(page.locator("#zoom-level")).to_have_text("100%")
    # Ctrl-wheel zooms about the pointer.
    page.locator("#canvas").hover(position={"x": 200, "y": 100})
    page.keyboard.down("Control")
    page.mouse.wheel(0, 300)
    page.keyboard.up("Control")
    expect(page.locator("#zoom-level")).not_to_have_text("100%")
    assert node(page, "e0").bounding_box()["width"] < width

    # Middle-drag pans; the minimap's viewport follows.
    page.click("#zoom-in")  # any zoom: back near 100%
    view_x = float(page.locator("#minimap rect.viewport").get_attribute("x") or 0)
    box = canvas.bounding_box()
    start = (box["x"] + box["width"] / 2, box["y"] + box["height"] - 20)  # not over the minimap
    page.mouse.move(*start)
    page.mouse.down(button="middle")
    page.mouse.move(start[0] - 400, start[1], steps=8)
    page.mouse.up(button="middle")
    assert canvas.evaluate("(c) => c.scrollLeft") >= 390
    page.wait_for_function(
        f"() => Number(document.querySelector('#minimap rect.viewport').getAttribute('x')) > {view_x}"
    )

    # A click on the minimap's far end brings the last entity into view.
    expect(node(page, "e13")).not_to_be_in_viewport()
    mini = page.locator("#minimap").bounding_box()
    page.mouse.click(mini["x"] + mini["width"] - 6, mini["y"] + 12)
    expect(node(page, "e13")).to_be_in_viewport()

    # Fit shows the whole graph: nothing left to scroll, and no overview needed.
    page.click("#fit")
    assert canvas.evaluate(
        "(c) => c.scrollWidth <= c.clientWidth + 1 && c.scrollHeight <= c.clientHeight + 1"
    )
    expect(page.locator("#minimap")).to_be_hidden()
    expect(node(page, "e0")).to_be_in_viewport()
    expect(node(page, "e13")).to_be_in_viewport()
    # Editing still works at any zoom: a click selects.
    node(page, "e5").locator("header b").click()
    expect(node(page, "e5")).to_have_class("entity selected")


def test_finding_an_entity_by_name_brings_it_into_view_and_focuses_it(login, server: Server) -> None:
    create(server, "draw-find", [entity(f"stage{k}", f"t{k}", f"t{k + 1}") for k in range(14)])
    page = login("viewer")  # finding changes nothing: every role may
    open_editor(page, server, "draw-find")
    expect(node(page, "stage12")).not_to_be_in_viewport()
    page.fill("#find-entity", "STAGE12")
    page.press("#find-entity", "Enter")
    expect(node(page, "stage12")).to_be_in_viewport()
    expect(node(page, "stage12")).to_be_focused()
    expect(node(page, "stage12")).to_have_class("entity found")
    expect(page.locator("#message")).to_have_text("Found stage12: Enter opens its panel.")
    page.keyboard.press("Enter")  # the focused node's panel opens
    expect(page.get_by_label("Name", exact=True)).to_have_value("stage12")
    page.fill("#find-entity", "nothing-like-it")
    page.press("#find-entity", "Enter")
    expect(page.locator("#message")).to_have_text('No entity is called "nothing-like-it".')
    expect(page.locator(".entity.found")).to_have_count(0)
