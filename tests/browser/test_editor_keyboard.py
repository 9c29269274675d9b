"""The editor by keyboard (issue 14, item 4): Enter or Space opens an entity's panel, Ctrl-S
saves, arrow keys move a focused chip between pods and say so (an aria-live region) at the
ends, and every control is reachable by Tab with the same visible focus ring."""

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server


def open_editor(page: Page, server: Server, name: str) -> None:
    page.goto(f"{server.url}/deployments/{name}/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)


def test_enter_or_space_on_a_focused_entity_opens_its_panel(login, example, server: Server) -> None:
    example("kbd-panel")
    page = login("editor")
    open_editor(page, server, "kbd-panel")
    page.locator('.entity[data-name="splitter"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#panel h2")).to_have_text("Entity")
    expect(page.get_by_label("Name", exact=True)).to_have_value("splitter")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.press("Escape")  # back to the graph
    expect(page.locator('.entity[data-name="splitter"]')).to_be_focused()

    page.locator('.entity[data-name="totals"]').focus()
    page.keyboard.press(" ")
    expect(page.get_by_label("Name", exact=True)).to_have_value("totals")
    expect(page.locator('.entity[data-name="totals"]')).to_have_class(re.compile(r"\bselected\b"))


def test_ctrl_s_saves_including_the_field_being_typed_in(login, example, server: Server) -> None:
    example("kbd-save")
    page = login("editor")
    open_editor(page, server, "kbd-save")
    page.locator('.entity[data-name="totals"] header b').click()
    page.get_by_label("IO address", exact=True).fill("127.0.0.1:9093")  # no Tab: not yet taken
    page.keyboard.press("Control+s")
    expect(page.locator("#message")).to_contain_text("reconcile requested")
    expect(page.locator("#dirty")).to_be_hidden()
    spec = server.api("owner", "GET", "/api/deployments/kbd-save/").json()["spec"]
    assert spec["statefulEntities"][1]["ioAddress"] == "127.0.0.1:9093"
    revisions = server.api("owner", "GET", "/api/deployments/kbd-save/revisions/").json()
    assert len(revisions.get("results", revisions)) == 2

    page.locator("#nodes").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")  # nothing changed since: nothing is sent
    expect(page.locator("#message")).to_have_text("Nothing to save.")


def test_arrow_keys_move_a_chip_between_pods_and_announce_the_ends(login, example, server: Server) -> None:
    example("kbd-arrows")
    page = login("editor")
    open_editor(page, server, "kbd-arrows")
    announce = page.locator("#announce[aria-live]")

    page.locator('.pod[data-name="splitter-0"] .chip[data-partition="0"]').focus()
    page.keyboard.press("ArrowUp")
    expect(announce).to_have_text("Partition 0 is already in the first pod, splitter-0.")
    expect(page.locator('.pod[data-name="splitter-0"] .chip[data-partition="0"]')).to_be_focused()

    page.keyboard.press("ArrowDown")
    expect(announce).to_have_text("Partition 0 moved to splitter-1.")
    page.keyboard.press("ArrowDown")
    moved = page.locator('.pod[data-name="splitter-2"] .chip[data-partition="0"]')
    expect(moved).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(announce).to_have_text("Partition 0 is already in the last pod, splitter-2.")
    expect(moved).to_be_focused()
    spec = page.evaluate("() => window.invokerEditor.spec.statefulEntities[0].pods.map((p) => p.partitions)")
    assert spec == [[1], [2, 3], [0, 4, 5]]


FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const what = el.dataset.path || el.dataset.name || el.dataset.partition || "";
  return { key: el.id ? `#${el.id}` : `${el.classList[0] || el.tagName}|${what}`,
           outline: `${style.outlineStyle} ${style.outlineWidth}`, visible: el.matches(":focus-visible"),
           tag: el.tagName };
}"""


def test_every_control_is_reachable_by_tab_with_a_visible_focus_ring(login, example, server: Server) -> None:
    example("kbd-tab")
    page = login("owner")
    open_editor(page, server, "kbd-tab")
    page.locator('.entity[data-name="splitter"] header b').click()  # the panel has every field
    page.locator(".topbar .brand").focus()  # the first control: Tab goes on from here
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    stops = [page.evaluate(FOCUSED)]
    for _ in range(120):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED)
        if stop["tag"] == "BODY" or (stops and stop["key"] == stops[0]["key"]):
            break
        stops.append(stop)
    keys = [stop["key"] for stop in stops]
    for key in ("#add-entity", "#tab-graph", "#tab-yaml", "entity|splitter", "entity|totals"):
        assert key in keys, (key, keys)
    assert sum(k.startswith("chip|") for k in keys) == 12, keys  # 6 partitions of each entity
    assert sum(k.startswith("rebalance|") for k in keys) == 2, keys
    for key in ("INPUT|spec.statefulEntities[0].executorImage", "#connect", "#add-pod", "#remove-entity"):
        assert key in keys, (key, keys)
    for stop in stops:
        assert stop["visible"], stop
        assert stop["outline"] == "solid 2px", stop


def test_tab_after_a_field_edit_goes_on_to_the_next_field(login, example, server: Server) -> None:
    example("kbd-fields")
    page = login("editor")
    open_editor(page, server, "kbd-fields")
    page.locator('.entity[data-name="splitter"] header b').click()
    page.get_by_label("IO image", exact=True).fill("invoker/io-sidecar:0.2")
    page.keyboard.press("Tab")  # the edit is taken and the panel kept: the focus is where Tab put it
    expect(page.get_by_label("State image", exact=True)).to_be_focused()
    expect(page.locator("#dirty")).to_be_visible()
    page.keyboard.type("invoker/state-sidecar:0.2")
    page.keyboard.press("Tab")
    expect(page.get_by_label("IO address", exact=True)).to_be_focused()
    entity = page.evaluate("() => window.invokerEditor.spec.statefulEntities[0]")
    assert (entity["ioImage"], entity["stateImage"]) == (
        "invoker/io-sidecar:0.2",
        "invoker/state-sidecar:0.2",
    )
