"""Container logs in the dashboard (issue 18 item 2), in the real Chromium against the real server:
an editor reads the last lines of each container of a pod a real local runtime runs, follows
them over the websocket, and is told what is wrong with a bad request; a viewer may not read logs
(docs/logs.md)."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from orchestrator.local.images import load_image_map
from orchestrator.local.process import Backoff
from orchestrator.local.runtime import Runtime
from orchestrator.local.volumes import Desired
from orchestrator.reconciler.logs import LocalLogs
from tests.browser.conftest import Server, screenshot
from tests.polling import wait_until

#: Each container says which it is: 50 lines at once, then a tick every 0.3 s.
TALKER = (
    "import sys, time\n"
    "role = sys.argv[1]\n"
    "for i in range(50): print(f'{role} line {i}', flush=True)\n"
    "j = 0\n"
    "while True:\n"
    "    time.sleep(0.3); print(f'{role} tick {j}', flush=True); j += 1\n"
)
#: Opens a follow socket at a path; resolves to its close code and the error message it sent.
FOLLOW_AND_CLOSE = """(path) => new Promise((resolve) => {
    const socket = new WebSocket(`ws://${location.host}${path}`);
    let error = null;
    socket.onmessage = (event) => { error = JSON.parse(event.data).error; };
    socket.onclose = (event) => resolve({ code: event.code, error });
})"""
IMAGES = {f"test/{role}:1": [sys.executable, "-c", TALKER, role] for role in ("udf", "io", "state")}


class OneDeploymentRuntime(Runtime):
    """The real local runtime, running only the pods of one deployment: the browser server's
    state directory holds the other tests' deployments, whose pods must not start."""

    def __init__(self, state_dir: Path, deployment: str) -> None:
        super().__init__(state_dir, load_image_map([json.dumps(IMAGES)]), Backoff(base=0.2, cap=1.6))
        self.deployment = deployment

    def _read_desired(self) -> Desired:
        desired = super()._read_desired()
        mine = {
            key: workload
            for key, workload in desired.workloads.items()
            if workload["metadata"].get("labels", {}).get("app.kubernetes.io/instance") == self.deployment
        }
        return Desired(workloads=mine, config_maps=desired.config_maps)


def talking_images(manifest: dict[str, Any]) -> None:
    for entity in manifest["spec"]["statefulEntities"]:
        entity.update(executorImage="test/udf:1", ioImage="test/io:1", stateImage="test/state:1")


@dataclass
class Running:
    name: str
    logs: LocalLogs

    def pods(self) -> list[str]:
        return sorted(p["pod"] for p in self.logs.pods(self.name))


@pytest.fixture
def running(example, server: Server) -> Iterator[Running]:
    """A deployment of the word-count example whose pods a real local runtime runs."""
    name = f"logged-{uuid.uuid4().hex[:6]}"
    example(name, talking_images)
    server.reconcile(name)
    state_dir = Path(server.env["INVOKER_LOCAL_STATE_DIR"])
    runtime = OneDeploymentRuntime(state_dir, name)
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run, args=(stop, 0.3), daemon=True)
    thread.start()
    logs = LocalLogs(state_dir)
    try:
        wait_until(
            lambda: (
                logs.pods(name) and len(logs.tail(name, logs.pods(name)[0]["pod"], "state", 60).lines) >= 50
            ),
            60,
            "the pods to print their first lines",
        )
        yield Running(name, logs)
    finally:
        stop.set()
        thread.join(timeout=60)


def log_lines(page: Page) -> list[str]:
    return page.locator("#log-text").inner_text().splitlines()


def test_an_editor_reads_and_follows_each_container_and_is_told_what_is_wrong(
    running: Running, login, server: Server
) -> None:
    name, pods = running.name, running.pods()
    page = login("editor")
    page.goto(f"{server.url}/deployments/{name}/metrics/")
    page.click("nav a:text('Logs')")
    expect(page.locator("#logs")).to_have_attribute("data-ready", "true")
    expect(page.locator("#log-pod option")).to_have_count(len(pods))
    page.select_option("#log-pod", pods[0])
    expect(page.locator("#log-containers [data-container]")).to_have_text(["udf", "io", "state"])

    page.fill("#log-lines", "10")
    page.click("#log-read")
    expect(page.locator("#logs")).to_have_attribute("data-lines", "10")
    assert all(line.startswith("udf ") for line in log_lines(page)), log_lines(page)
    for role in ("io", "state"):
        page.click(f"#log-containers [data-container={role}]")
        expect(page.locator(f"#log-containers [data-container={role}]")).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(page.locator("#log-text")).to_contain_text(f"{role} ")
        assert all(line.startswith(f"{role} ") for line in log_lines(page)), log_lines(page)

    # Follow: the last 10 lines, then new ticks as the container prints them, over the websocket.
    page.check("#log-follow")
    expect(page.locator("#log-conn")).to_have_attribute("data-state", "open")
    wait_until(
        lambda: int(page.locator("#logs").get_attribute("data-lines") or 0) >= 15, 30, "followed lines"
    )
    ticks = [int(line.split()[-1]) for line in log_lines(page) if " tick " in line]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), ticks  # in order, none twice or missed
    screenshot(page, "logs.png")
    page.uncheck("#log-follow")
    expect(page.locator("#log-conn")).to_have_attribute("data-state", "closed")

    # Bad input is named, on the page and on the socket.
    page.fill("#log-lines", "5000")
    page.click("#log-read")
    expect(page.locator("#log-error")).to_have_text("lines must be from 1 to 2000, not 5000")
    for path, code, message in [
        (f"{pods[0]}/sidecar/", 4400, "container 'sidecar' is not one of udf, io, state"),
        ("nope-0/udf/", 4404, f"deployment '{name}' has no pod 'nope-0'"),
    ]:
        closed = page.evaluate(FOLLOW_AND_CLOSE, f"/ws/deployments/{name}/logs/{path}?lines=5")
        assert closed["code"] == code, closed
        assert message in closed["error"]["message"], closed

    # The editor links here, and a link may name the pod and container to open.
    page.goto(f"{server.url}/deployments/{name}/")
    expect(page.locator("nav a", has_text="Logs")).to_have_attribute("href", f"/deployments/{name}/logs/")
    page.locator(".entity").first.click()  # the panel: each pod links to its io container's log
    link = page.locator("#panel .pod-logs").first
    pod = link.get_attribute("href").split("?pod=")[1].split("&")[0]
    link.click()
    expect(page.locator("#log-pod")).to_have_value(pod)
    page.goto(f"{server.url}/deployments/{name}/logs/?pod={pods[-1]}&container=io")
    expect(page.locator("#log-pod")).to_have_value(pods[-1])
    expect(page.locator("#log-containers [data-container=io]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#log-text")).to_contain_text("io line")


def test_a_viewer_may_not_read_logs(running: Running, login, server: Server) -> None:
    name = running.name
    page = login("viewer")
    page.goto(f"{server.url}/deployments/{name}/metrics/")
    expect(page.locator("nav a", has_text="Logs")).to_have_count(0)
    page.goto(f"{server.url}/deployments/{name}/")
    page.locator(".entity").first.click()
    expect(page.locator("#panel h2")).to_have_text("Entity")
    expect(page.locator("#panel .pod-logs")).to_have_count(0)
    response = page.goto(f"{server.url}/deployments/{name}/logs/")
    assert response is not None
    assert response.status == 403
    pod = running.pods()[0]
    closed = page.evaluate(FOLLOW_AND_CLOSE, f"/ws/deployments/{name}/logs/{pod}/udf/")
    assert closed["code"] == 4403, closed
    assert "your role does not allow reading logs" in closed["error"]["message"]
