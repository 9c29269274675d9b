"""The autoscaler's recommendation in the editor, in real Chromium against the real server:
viewers see it with its rule and chart, operators approve it in one click (one revision)."""

from playwright.sync_api import expect

from tests.browser.conftest import Server

#: Run in the server's environment: four broker samples of splitter's backlog, rising for 30 s,
#: then one evaluation (what jobs.autoscale does every 10 s).
EVALUATE = """
import time
from orchestrator.planning.autoscale import Sample
from topology_editor.models import AutoscalePolicy
from topology_editor.services.autoscale import clear_progress, evaluate, record_progress
now = time.time()
clear_progress(%(name)r, "splitter")
for i in range(4):
    record_progress(%(name)r, "splitter", Sample(now - 30 + 10 * i, 1000.0 * i, 5000.0 * i))
print(evaluate(AutoscalePolicy.objects.get(deployment__name=%(name)r, entity="splitter"), now))
clear_progress(%(name)r, "splitter")
"""


def recommend(server: Server, name: str) -> None:
    policy = {"max_pods": 5, "scale_out_after_seconds": 20}
    url = f"/api/deployments/{name}/entities/splitter/autoscale/"
    assert server.api("operator", "PUT", url, json=policy).status_code == 200
    assert "lag_growing" in server.manage("shell", "-c", EVALUATE % {"name": name})


def test_viewers_see_the_recommendation_with_its_evidence_but_no_approve(
    login, example, server: Server
) -> None:
    example("autoscale-viewer")
    recommend(server, "autoscale-viewer")
    page = login("viewer")
    page.goto(f"{server.url}/deployments/autoscale-viewer/")
    box = page.locator('.entity[data-name="splitter"] .autoscale')
    expect(box).to_contain_text("Autoscaler recommends 4 pod(s)")
    expect(box).to_contain_text("lag_growing: lag grew for 30 s")
    expect(box.locator("svg polyline.autoscale-backlog")).to_have_count(1)
    expect(box.locator("button.autoscale-approve")).to_have_count(0)


def test_an_operator_approves_the_recommendation_in_one_click(login, example, server: Server) -> None:
    example("autoscale-ui")
    recommend(server, "autoscale-ui")
    page = login("operator")
    page.goto(f"{server.url}/deployments/autoscale-ui/")
    page.locator('.entity[data-name="splitter"] button.autoscale-approve').click()
    expect(page.locator("#message")).to_contain_text("Autoscaled splitter to 4 pod(s)")
    after = server.api("owner", "GET", "/api/deployments/autoscale-ui/").json()
    assert len(after["spec"]["statefulEntities"][0]["pods"]) == 4
    audit = server.api("owner", "GET", "/api/deployments/autoscale-ui/audit/").json()
    assert audit.get("results", audit)[0]["action"] == "autoscale"
