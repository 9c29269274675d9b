"""A deployment of 100 entities x 20 pods opens in the editor quickly. The numbers are printed
(run with ``-s`` to see them); the bound asserted is deliberately generous (5 s) so that a
loaded CI machine does not fail it, while a regression to seconds of work still does."""

import time

from playwright.sync_api import expect

from tests.browser.conftest import Server

ENTITIES, PODS, PARTITIONS_PER_POD = 100, 20, 2
BOUND_MS = 5000


def big_manifest(name: str) -> dict:
    entities = []
    for e in range(ENTITIES):
        pods = [
            {
                "name": f"e{e}-p{p}",
                "partitions": [p * PARTITIONS_PER_POD + k for k in range(PARTITIONS_PER_POD)],
            }
            for p in range(PODS)
        ]
        entities.append({
            "name": f"e{e}", "executorImage": "invoker/executor:0.1", "ioAddress": "127.0.0.1:9092",
            "inputTopic": f"t{e}", "outputTopic": f"t{e + 1}", "pods": pods,
        })  # fmt: skip
    return {
        "apiVersion": "invokeroperator.invoker.io/v1alpha1", "kind": "InvokerDeployment",
        "metadata": {"name": name}, "spec": {"statefulEntities": entities},
    }  # fmt: skip


def test_a_100_entity_by_20_pod_deployment_opens_in_the_editor_quickly(login, server: Server) -> None:
    started = time.monotonic()
    created = server.api("owner", "POST", "/api/deployments/", json=big_manifest("big"))
    assert created.status_code == 201, created.text[:500]
    print(f"\ncreating 100x20 through the API took {time.monotonic() - started:.2f}s")
    page = login("viewer")
    timings = []
    for _ in range(3):
        page.goto(f"{server.url}/deployments/big/")
        expect(page.locator("body[data-loaded]")).to_have_count(1, timeout=30_000)
        total = page.evaluate("performance.now()")
        loaded = float(page.locator("body").get_attribute("data-loaded-ms"))
        rendered = float(page.locator("body").get_attribute("data-render-ms"))
        timings.append((total, loaded, rendered))
    assert page.locator(".entity").count() == ENTITIES
    assert page.locator(".pod").count() == ENTITIES * PODS
    assert page.locator(".edge").count() == ENTITIES - 1
    for total, loaded, rendered in timings:
        detail = f"API fetch + render {loaded:.0f} ms, of which render {rendered:.0f} ms"
        print(f"editor open: {total:.0f} ms from navigation ({detail})")
    assert min(total for total, _, _ in timings) < BOUND_MS
