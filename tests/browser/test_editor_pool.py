"""The editor's unassigned partition pool and multi-selected chips (issue 14, item 2): declaring
an entity's input partition count shows the partitions no pod owns in a visible pool, with a
warning; chips go from the pool to a pod and back by dragging; shift- or ctrl-clicked chips are
dragged together, as one undo step."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server


def create(server: Server, name: str) -> None:
    manifest = {
        "apiVersion": "invokeroperator.invoker.io/v1alpha1", "kind": "InvokerDeployment",
        "metadata": {"name": name},
        "spec": {"statefulEntities": [{
            "name": "counter", "executorImage": "invoker/executor:0.1", "ioAddress": "127.0.0.1:9092",
            "inputTopic": f"{name}-in", "outputTopic": f"{name}-out", "inputPartitions": 4,
            "pods": [{"name": f"counter-{k}", "partitions": [2 * k, 2 * k + 1]} for k in range(2)],
        }]},
    }  # fmt: skip
    response = server.api("owner", "POST", "/api/deployments/", json=manifest)
    assert response.status_code == 201, response.text


def chips(page: Page, where: str) -> list[str]:
    return page.locator(f"{where} .chip").evaluate_all("(all) => all.map((c) => c.dataset.partition)")


def test_unassigned_partitions_sit_in_a_pool_and_chips_move_to_pods_and_back_together(
    login, server: Server
) -> None:
    create(server, "pooled")
    page = login("editor")
    page.goto(f"{server.url}/deployments/pooled/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    pool = page.locator(".pool")
    warning = page.locator(".unassigned-warning")
    expect(pool.locator(".chip")).to_have_count(0)
    expect(warning).to_have_count(0)

    # Declaring 7 input partitions creates 3 more chips, unassigned, with a warning.
    page.locator('.entity[data-name="counter"] header b').click()
    field = page.get_by_label("Input partitions", exact=True)
    field.fill("7")
    field.press("Tab")
    expect(pool.locator(".chip")).to_have_count(3)
    assert chips(page, ".pool") == ["4", "5", "6"]
    expect(warning).to_contain_text("3 partition(s) unassigned: they will not be processed")

    # From the pool to a pod, and from a pod back to the pool.
    pool.locator('.chip[data-partition="4"]').drag_to(page.locator('.pod[data-name="counter-0"]'))
    expect(page.locator('.pod[data-name="counter-0"] .chip[data-partition="4"]')).to_have_count(1)
    page.locator('.pod[data-name="counter-0"] .chip[data-partition="0"]').drag_to(pool)
    expect(pool.locator(".chip")).to_have_count(3)
    assert chips(page, ".pool") == ["0", "5", "6"]

    # Three chips picked with ctrl- and shift-click go together, in one undo step.
    pool.locator('.chip[data-partition="0"]').click(modifiers=["Control"])
    pool.locator('.chip[data-partition="5"]').click(modifiers=["Shift"])
    pool.locator('.chip[data-partition="6"]').click(modifiers=["Control"])
    expect(page.locator(".chip.picked")).to_have_count(3)
    pool.locator('.chip[data-partition="6"]').drag_to(page.locator('.pod[data-name="counter-1"]'))
    assert chips(page, '.pod[data-name="counter-1"]') == ["0", "2", "3", "5", "6"]
    expect(pool.locator(".chip")).to_have_count(0)
    expect(warning).to_have_count(0)
    expect(page.locator(".chip.picked")).to_have_count(0)

    page.click("#undo")
    assert chips(page, ".pool") == ["0", "5", "6"]
    page.click("#redo")
    expect(pool.locator(".chip")).to_have_count(0)

    page.click("#save")
    expect(page.locator("#message")).to_contain_text("reconcile requested")
    entity = server.api("owner", "GET", "/api/deployments/pooled/").json()["spec"]["statefulEntities"][0]
    assert entity["inputPartitions"] == 7
    assert [pod["partitions"] for pod in entity["pods"]] == [[1, 4], [0, 2, 3, 5, 6]]


def test_a_click_without_a_modifier_drops_the_picked_chips(login, server: Server) -> None:
    create(server, "unpicked")
    page = login("editor")
    page.goto(f"{server.url}/deployments/unpicked/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    page.locator('.chip[data-partition="0"]').click(modifiers=["Control"])
    page.locator('.chip[data-partition="2"]').click(modifiers=["Control"])
    expect(page.locator(".chip.picked[aria-pressed=true]")).to_have_count(2)
    page.locator('.chip[data-partition="1"]').click()
    expect(page.locator(".chip.picked")).to_have_count(0)
    # A drag of one chip moves that chip alone.
    page.locator('.chip[data-partition="1"]').drag_to(page.locator('.pod[data-name="counter-1"]'))
    assert chips(page, '.pod[data-name="counter-1"]') == ["1", "2", "3"]
    assert chips(page, '.pod[data-name="counter-0"]') == ["0"]


def test_arrow_keys_move_a_chip_into_the_pool_and_back(login, server: Server) -> None:
    create(server, "pool-keys")
    page = login("editor")
    page.goto(f"{server.url}/deployments/pool-keys/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    announce = page.locator("#announce")
    page.locator('.pod[data-name="counter-1"] .chip[data-partition="3"]').focus()
    page.keyboard.press("ArrowDown")
    expect(announce).to_have_text("Partition 3 moved to the unassigned pool.")
    in_pool = page.locator('.pool .chip[data-partition="3"]')
    expect(in_pool).to_be_focused()
    expect(page.locator(".unassigned-warning")).to_contain_text("1 partition(s) unassigned")
    page.keyboard.press("ArrowDown")
    expect(announce).to_have_text("Partition 3 is already in the last pod, the unassigned pool.")
    page.keyboard.press("ArrowUp")
    expect(announce).to_have_text("Partition 3 moved to counter-1.")
    expect(page.locator('.pod[data-name="counter-1"] .chip[data-partition="3"]')).to_be_focused()
    expect(page.locator(".unassigned-warning")).to_have_count(0)


def test_a_lasso_picks_the_chips_inside_it_and_they_are_dragged_together(
    login, example, server: Server
) -> None:
    example("lassoed")
    page = login("editor")
    page.goto(f"{server.url}/deployments/lassoed/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    node = page.locator('.entity[data-name="splitter"]').bounding_box()
    box = {
        p: page.locator(f'.entity[data-name="splitter"] .chip[data-partition="{p}"]').bounding_box()
        for p in "0123"
    }
    start = (node["x"] - 8, box["0"]["y"] - 2)  # on the empty canvas, left of the entity
    end = (max(box[p]["x"] + box[p]["width"] for p in "13") + 2, box["3"]["y"] + box["3"]["height"] + 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    expect(page.locator(".lasso")).to_have_count(1)
    page.mouse.move(*end)
    page.mouse.up()
    expect(page.locator(".lasso")).to_have_count(0)
    picked = page.locator(".chip.picked").evaluate_all("(all) => all.map((c) => c.dataset.partition)")
    assert picked == ["0", "1", "2", "3"], picked

    page.locator('.pod[data-name="splitter-1"] .chip[data-partition="2"]').drag_to(
        page.locator('.pod[data-name="splitter-2"]')
    )
    expect(page.locator("#message")).to_contain_text("Partitions 0, 1, 2, 3 moved to splitter-2")
    pods = page.evaluate("() => window.invokerEditor.spec.statefulEntities[0].pods.map((p) => p.partitions)")
    assert pods == [[], [], [0, 1, 2, 3, 4, 5]], pods
    page.click("#undo")  # one step takes all four back
    pods = page.evaluate("() => window.invokerEditor.spec.statefulEntities[0].pods.map((p) => p.partitions)")
    assert [[str(p) for p in pod] for pod in pods] == [["0", "1"], ["2", "3"], ["4", "5"]], pods
