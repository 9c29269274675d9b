"""Rebalancing from the editor, the reconcile it requests, and what a viewer may not do."""

from playwright.sync_api import expect

from tests.browser.conftest import Server, collected_until


def all_on_first_pod(manifest: dict) -> None:
    pods = manifest["spec"]["statefulEntities"][0]["pods"]
    pods[0]["partitions"], pods[1]["partitions"], pods[2]["partitions"] = [0, 1, 2, 3, 4, 5], [], []


def test_an_operator_sees_the_rebalance_plan_then_applies_it_and_sees_the_reconcile(
    login, example, server: Server
) -> None:
    example("rebalanced", all_on_first_pod)
    page = login("operator")
    page.goto(f"{server.url}/deployments/rebalanced/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)

    page.click('.entity[data-name="splitter"] .rebalance')
    dialog = page.locator("#plan-dialog")
    expect(dialog).to_be_visible()
    rows = dialog.locator("#plan-moves tr")
    expect(rows).to_have_count(4)
    plan = [row.locator("td").all_inner_texts() for row in rows.all()]
    assert all(source == "splitter-0" for _, source, _ in plan)
    assert sorted(target for _, _, target in plan) == ["splitter-1", "splitter-1", "splitter-2", "splitter-2"]
    # The plan changed nothing yet.
    before = server.api("owner", "GET", "/api/deployments/rebalanced/").json()
    assert before["metadata"]["resourceVersion"] == "1"

    page.click("#plan-apply")
    expect(page.locator("#message")).to_contain_text("Rebalanced splitter")
    after = server.api("owner", "GET", "/api/deployments/rebalanced/").json()
    pods = {pod["name"]: pod["partitions"] for pod in after["spec"]["statefulEntities"][0]["pods"]}
    assert sorted(len(p) for p in pods.values()) == [2, 2, 2]
    moved = {int(partition) for partition, _, _ in plan}
    assert moved == set(pods["splitter-1"]) | set(pods["splitter-2"])
    revision = after["metadata"]["annotations"]["invoker.io/revision"]
    expect(page.locator(".pod[data-name='splitter-1'] .chip")).to_have_count(2)

    # The reconcile that follows: a real pass, reported by a real collection over the websocket.
    assert "applied" in server.reconcile("rebalanced")
    collected_until(page, server, "rebalanced", revision)
    expect(page.locator("#status [data-status=lastReconcile]")).to_contain_text("success")
    expect(page.locator("#status [data-status=message]")).to_have_text("0/4 pods ready")


def test_a_viewer_can_neither_move_partitions_nor_rebalance(login, example, server: Server) -> None:
    example("viewed")
    page = login("viewer")
    page.goto(f"{server.url}/deployments/viewed/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    expect(page.locator(".rebalance").first).to_be_disabled()
    expect(page.locator("#add-entity")).to_be_disabled()
    expect(page.locator("#save")).to_be_disabled()
    chip = page.locator('.pod[data-name="splitter-0"] .chip[data-partition="0"]')
    expect(chip).to_have_attribute("draggable", "false")
    chip.drag_to(page.locator('.pod[data-name="splitter-1"]'))
    chip.focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator('.pod[data-name="splitter-0"] .chip[data-partition="0"]')).to_have_count(1)
    expect(page.locator("#dirty")).to_be_hidden()

    move = {"entity": "splitter", "partition": 0, "to_pod": "splitter-1"}
    refused = server.api("viewer", "POST", "/api/deployments/viewed/move/", json=move)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")
    rebalance = server.api(
        "viewer", "POST", "/api/deployments/viewed/entities/splitter/rebalance/", json={"dry_run": True}
    )
    assert (rebalance.status_code, rebalance.json()["error"]["code"]) == (403, "permission_denied")
