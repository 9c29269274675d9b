"""Health with reasons in the real Chromium: a deployment whose output topic does not exist is
never shown Ready and names the topic; the status bar counts pods per phase and names the top
reasons, never a wall of pod names; the editor colours pods and entities by health."""

from __future__ import annotations

from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic
from playwright.sync_api import expect

from orchestrator.reconciler import health
from orchestrator.reconciler.backend import PodState
from tests.browser.conftest import RUN_ID, Server, shown_after_publishing
from tests.browser.payloads import payload

CRASH = "container io exited with code 1: KafkaError: output topic 'counts' does not exist"


def test_a_deployment_whose_output_topic_cannot_exist_is_never_ready_and_shows_why(
    login, example, server: Server, kafka_bootstrap: str
) -> None:
    # Kafka refuses a topic whose name collides with an existing one ('.' and '_' are the same
    # in its metric names): the reconcile cannot create the output topic, as with a broker that
    # forbids creating topics.
    taken, wanted = f"health_counts-{RUN_ID}", f"health.counts-{RUN_ID}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(taken, 1, 1)])

        def collide(manifest: dict[str, Any]) -> None:
            manifest["spec"]["statefulEntities"][1]["outputTopic"] = wanted

        example("no-output", collide)
        server.reconcile("no-output")
        page = login("viewer")
        page.goto(f"{server.url}/deployments/no-output/")
        expect(page.locator("body[data-loaded]")).to_have_count(1)
        state = page.locator("#status [data-status=state]")
        expect(state).to_have_text("Pending")
        conditions = page.locator("#status [data-status=conditions]")
        expect(conditions).to_have_text("Ready: TopicMissing · TopicsReady: TopicMissing")
        expect(page.locator("#status [data-status=message]")).to_contain_text(
            f"output topic '{wanted}' does not exist"
        )
        server.reconcile("no-output")  # a second pass cannot make it Ready either
        page.reload()
        expect(page.locator("body[data-loaded]")).to_have_count(1)
        expect(state).to_have_text("Pending")
    finally:
        admin.delete_topics([name for name in admin.list_topics() if name in (taken, wanted)])
        admin.close()


def _three_hundred_pods(name: str) -> dict[str, Any]:
    """A collector payload of 300 pods (200 crash-looping on one reason, 10 pending, 90 running),
    its status summarised by orchestrator.reconciler.health as the collector does."""

    def pod(
        entity: str, n: int, phase: str, reason: str | None = None, message: str | None = None
    ) -> PodState:
        ready, restarts = phase == "Running", 4 if phase == "CrashLoop" else 0
        return PodState(
            f"{name}.{entity}-{n}",
            f"{entity}{n}",
            entity,
            f"{entity}-{n}",
            phase,
            ready,
            restarts,
            None,
            reason,
            message,
        )

    states = [pod("splitter", n, "CrashLoop", "CrashLoopBackOff", CRASH) for n in range(200)]
    states += [pod("totals", n, "Pending", "ContainerCreating") for n in range(10)]
    states += [pod("totals", n, "Running") for n in range(10, 100)]
    body = payload(name, 1)
    body["pods"] = [
        {"name": s.pod, "entity": s.entity, "phase": s.phase, "ready": s.ready, "restarts": s.restarts,
         "reason": s.reason, "message": s.message}
        for s in states
    ]  # fmt: skip
    body["status"]["components"] = {
        "podPhases": health.phase_counts(states),
        "topReasons": health.top_reasons(states),
        "deadLetters": {"splitter": 7.0, "totals": 0.0},
    }
    return body


def test_the_status_bar_counts_phases_and_names_top_reasons_not_every_pod(
    login, example, server: Server
) -> None:
    example("health-bar")
    page = login("viewer")
    page.goto(f"{server.url}/deployments/health-bar/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    body = _three_hundred_pods("health-bar")
    shown_after_publishing(
        page, body, "#status [data-health=phases]", "200 CrashLoop · 10 Pending · 90 Running"
    )
    bar = page.locator("#status")
    expect(bar.locator("[data-health=reasons]")).to_have_text(
        f"CrashLoopBackOff: {CRASH} (200 pods) · ContainerCreating (10 pods)"
    )
    expect(bar.locator("[data-health=deadLetters]")).to_have_text("splitter 7")
    expect(bar.locator("[data-health=phases] [data-phase=CrashLoop]")).to_have_css(
        "color", "rgb(198, 40, 40)"
    )
    text = bar.inner_text()
    assert "splitter-1" not in text, text  # no wall of pod names
    assert "totals-50" not in text, text
    assert len(text) < 800, text
    expect(bar.locator("a.details")).to_have_attribute("href", "/api/deployments/health-bar/status/")
    # The editor's pods and entities take the colour of their health, the reason as a tooltip.
    crashing = page.locator('.pod[data-name="splitter-0"]')
    expect(crashing).to_have_attribute("data-phase", "CrashLoop")
    expect(crashing).to_have_attribute("title", f"CrashLoop · CrashLoopBackOff: {CRASH} · 4 restarts")
    expect(page.locator('.entity[data-name="splitter"]')).to_have_attribute("data-health", "CrashLoop")
    expect(page.locator('.entity[data-name="totals"]')).to_have_attribute("data-health", "Pending")
    expect(page.locator('.pod[data-name="totals-0"]')).to_have_attribute("data-phase", "Pending")
