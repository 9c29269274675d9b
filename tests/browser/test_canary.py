"""The canary panel of the metrics page in real Chromium against the real server: the canary
pods and the others side by side from the live payloads, an operator starts, promotes and
aborts a canary (each a revision), a viewer sees the comparison without the buttons."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, shown_after_publishing
from tests.browser.payloads import payload

NEW = "invoker/executor-word-count:0.2"


def own_images(server: Server, name: str) -> dict[str, str | None]:
    spec = server.api("owner", "GET", f"/api/deployments/{name}/").json()["spec"]
    splitter = spec["statefulEntities"][0]
    return {
        "entity": splitter["executorImage"],
        **{p["name"]: p.get("executorImage") for p in splitter["pods"]},
    }


def version_of(server: Server, name: str) -> int:
    return server.api("owner", "GET", f"/api/deployments/{name}/").json()["metadata"]["resourceVersion"]


def open_metrics(login, server: Server, persona: str, name: str) -> Page:
    page = login(persona)
    page.goto(f"{server.url}/deployments/{name}/metrics/", wait_until="domcontentloaded", timeout=90_000)
    expect(page.locator("#canary")).to_be_visible()
    return page


def canary_payload(name: str) -> dict:
    live = payload(name, 1)
    for pod in live["pods"]:
        pod["deadLettersPerSec"] = 2.5 if pod["name"] == "splitter-1" else 0.0
    return live


def test_an_operator_compares_promotes_and_aborts_a_canary(login, example, server: Server) -> None:
    example("canary-ui")
    page = open_metrics(login, server, "operator", "canary-ui")
    expect(page.locator("#canary .canary-none")).to_have_text("No canary runs.")

    page.fill("#canary-pods", "splitter-1")
    page.fill("#canary-image", NEW)
    page.click("#canary-start button[type=submit]")
    expect(page.locator("#canary .canary-message")).to_contain_text("Canary started on splitter-1")
    section = page.locator('#canary .canary-entity[data-entity="splitter"]')
    expect(section.locator("h3")).to_have_text(f"Canary of {NEW} on splitter")

    # Side by side: the canary pod's dead letters and its partitions' lag (2, 3) against the rest's.
    shown_after_publishing(
        page, canary_payload("canary-ui"), '#canary tr[data-row="deadLetters"] .canary-side', "2.5"
    )
    expect(section.locator('tr[data-row="deadLetters"] .stable-side')).to_have_text("0")
    expect(section.locator('tr[data-row="lag"] .canary-side')).to_have_text("52")
    expect(section.locator('tr[data-row="lag"] .stable-side')).to_have_text("104")
    expect(section.locator('tr[data-row="records"] .canary-side')).to_have_text("71")

    section.locator("button.canary-promote").click()
    expect(page.locator("#canary .canary-message")).to_contain_text(
        "Promoting: splitter-0 runs the new image"
    )
    assert own_images(server, "canary-ui")["splitter-0"] == NEW
    # The message comes once the page has re-read the deployment, so the next click carries the
    # version the promote made (it used to come first, and an Abort clicked at once was refused).
    assert page.evaluate("window.invokerCanary.version") == version_of(server, "canary-ui")

    # The promotion goes on by itself, a revision per pod (here: the next step, made through the
    # API while the page looks): Abort stops it whatever step it reached, not refused as stale.
    step = server.api(
        "owner", "POST", "/api/deployments/canary-ui/entities/splitter/canary/promote/", json={}
    )
    assert step.status_code == 200, step.text
    assert own_images(server, "canary-ui")["splitter-2"] == NEW
    page.locator('#canary .canary-entity[data-entity="splitter"] button.canary-abort').click()
    expect(page.locator("#canary .canary-message")).to_contain_text("Aborted")
    expect(page.locator("#canary .canary-none")).to_be_visible()
    assert own_images(server, "canary-ui") == {
        "entity": "invoker/executor-word-count:0.1",
        "splitter-0": None,
        "splitter-1": None,
        "splitter-2": None,
    }
    audit = server.api("owner", "GET", "/api/deployments/canary-ui/audit/").json()
    actions = [entry["action"] for entry in audit.get("results", audit)]
    assert actions[:4] == ["canary_abort", "canary_promote", "canary_promote", "canary"]


def test_a_viewer_sees_the_comparison_but_cannot_act(login, example, server: Server) -> None:
    example("canary-viewer")
    body = {"pods": ["splitter-1"], "image": NEW}
    response = server.api(
        "owner", "POST", "/api/deployments/canary-viewer/entities/splitter/canary/", json=body
    )
    assert response.status_code == 200, response.text
    page = open_metrics(login, server, "viewer", "canary-viewer")

    expect(page.locator('#canary .canary-entity[data-entity="splitter"]')).to_be_visible()
    expect(page.locator("#canary button")).to_have_count(0)
    expect(page.locator("#canary-start")).to_have_count(0)
