"""How long the editor's interactions take on a 30 x 10 and a 100 x 20 topology (issue 14, item 6:
every interaction within 100 ms at 100 x 20). Each is timed inside the page, from the event to
the next frame after the DOM settled (layout forced), and printed (run with ``-s``). The bound
asserted is deliberately generous, and on the fastest of the repeats, so that a loaded machine
(these 2 cores often run at load 20-40) does not fail it, while a return to re-rendering
everything (0.6-1.8 s a select, field edit, drag or undo at 100 x 20 here) still does."""

import statistics

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server

BOUND_MS = 400
REPEATS = 5

#: Dispatches one interaction in the page and resolves to its duration in ms: the event, the
#: editor's synchronous work, a forced layout and the next animation frame.
TIMED = """async ([kind, e]) => {
  const entity = (i) => document.querySelector(`.entity[data-entity="${i}"]`);
  const started = performance.now();
  if (kind === "select") {
    entity(e).querySelector("header b").click();
  } else if (kind === "field") {
    const input = document.querySelector('#panel input[data-path$=".executorImage"]');
    input.value = `invoker/executor:0.${Math.floor(Math.random() * 1e6)}`;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  } else if (kind === "drag") {
    const node = entity(e);
    const from = node.querySelector('.pod[data-pod="0"] .chip') || node.querySelector(".chip");
    const to = node.querySelector(`.pod:not([data-pod="${from.dataset.pod}"])`);
    const data = new DataTransfer();
    from.dispatchEvent(new DragEvent("dragstart", { bubbles: true, dataTransfer: data }));
    to.dispatchEvent(new DragEvent("dragover", { bubbles: true, cancelable: true, dataTransfer: data }));
    to.dispatchEvent(new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: data }));
    from.dispatchEvent(new DragEvent("dragend", { bubbles: true, dataTransfer: data }));
  } else if (kind === "undo") {
    document.querySelector("#undo").click();
  }
  void document.body.offsetHeight;
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
  return performance.now() - started;
}"""


def manifest(name: str, entities: int, pods: int) -> dict:
    spec = []
    for e in range(entities):
        spec.append({
            "name": f"e{e}", "executorImage": "invoker/executor:0.1", "ioAddress": "127.0.0.1:9092",
            "inputTopic": f"t{e}", "outputTopic": f"t{e + 1}",
            "pods": [{"name": f"e{e}-p{p}", "partitions": [2 * p, 2 * p + 1]} for p in range(pods)],
        })  # fmt: skip
    return {
        "apiVersion": "invokeroperator.invoker.io/v1alpha1", "kind": "InvokerDeployment",
        "metadata": {"name": name}, "spec": {"statefulEntities": spec},
    }  # fmt: skip


def timed(page: Page, kind: str, entity: int) -> float:
    return float(page.evaluate(TIMED, [kind, entity]))


@pytest.mark.parametrize(("entities", "pods"), [(30, 10), (100, 20)])
def test_select_field_edit_drag_and_undo_are_fast_on_a_big_topology(
    login, server: Server, entities: int, pods: int
) -> None:
    name = f"speed-{entities}x{pods}"
    created = server.api("owner", "POST", "/api/deployments/", json=manifest(name, entities, pods))
    assert created.status_code == 201, created.text[:500]
    page = login("editor")
    page.goto(f"{server.url}/deployments/{name}/")
    expect(page.locator("body[data-loaded]")).to_have_count(1, timeout=60_000)
    opened = float(page.locator("body").get_attribute("data-render-ms"))
    assert page.locator(".chip").count() == entities * pods * 2
    # A big graph's first pass draws the pods of the nodes in view only (the open's figure is in
    # benchmarks/editor_open.py); a small one is drawn whole at once.
    first_pass = int(page.locator("body").get_attribute("data-first-pass-pods"))
    if entities * pods > 400:
        assert 0 < first_pass <= entities * pods // 10, first_pass
    else:
        assert first_pass == entities * pods

    figures: dict[str, list[float]] = {"select": [], "field edit": [], "drag": [], "undo": []}
    for k in range(REPEATS):
        target = entities // 2 + k
        figures["select"].append(timed(page, "select", target))
        expect(page.locator(f'.entity[data-entity="{target}"].selected')).to_have_count(1)
        figures["field edit"].append(timed(page, "field", target))
        figures["drag"].append(timed(page, "drag", target))
        expect(page.locator(".chip.changed")).to_have_count(1)
        figures["undo"].append(timed(page, "undo", target))
        expect(page.locator(".chip.changed")).to_have_count(0)
    spec = page.evaluate("() => window.invokerEditor.spec.statefulEntities")
    assert spec[entities // 2]["executorImage"].startswith("invoker/executor:0.")
    assert page.locator(".entity").count() == entities
    assert page.locator(".edge").count() == entities - 1

    line = ", ".join(
        f"{kind} {statistics.median(ms):.0f} ms (min {min(ms):.0f})" for kind, ms in figures.items()
    )
    print(
        f"\neditor {entities}x{pods}: open (render) {opened:.0f} ms, {first_pass} pods in the first pass,"
        f" {line}, median of {REPEATS}"
    )
    for kind, ms in figures.items():
        assert min(ms) < BOUND_MS, (kind, ms)
