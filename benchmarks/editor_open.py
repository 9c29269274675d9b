"""How long the topology editor takes to open a big topology (issue 14: 100 entities x 20 pods,
4,000 partition chips, took up to 1.1 s; the target is 100 ms).

Run: ./dev bench editor_open   (or: python benchmarks/editor_open.py [--rounds N] [--profile FILE])

Starts Uvicorn on a SQLite database of its own (as ``hostile_input.py`` does), with an editor
who signs in, creates a 30 x 10 and a 100 x 20 deployment (the shapes of
tests/browser/test_editor_speed.py) and opens each in headless Chromium ``--rounds`` times.
The figure is the editor's own ``data-render-ms``: from the spec fetched to the graph, panel
and edges drawn with the layout forced (it reads the nodes' positions for the edges), the way
the browser test prints it; "to frame" adds the wait for the next animation frame (the paint).

A big graph is drawn in two passes (editor.js, ``renderGraph``): the nodes in view with their
pods, the others without, whose pods follow in slices after the first paint; "every chip drawn"
is when the last slice is in (``data-drawn-ms``, when the page marks itself loaded).

The baseline, measured in the same run and page: the same nodes' final markup parsed into the
page with one ``innerHTML`` and laid out, the least the browser can do to show that DOM. The
ratio says how far the editor's open is from it. ``--profile FILE`` saves a V8 CPU profile of
one open (chrome://inspect or DevTools can load it) and prints its heaviest functions.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import requests
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.support import server as support_server  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.test_editor_speed import manifest  # noqa: E402

TARGET_MS = 100
SETUP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
editor = User.objects.create_user("editor", password="editor-password")
editor.groups.set([Group.objects.get(name="editor")])
print("TOKEN=" + Token.objects.create(user=editor).key)
"""
#: The baseline: the nodes' final markup put back with one innerHTML and laid out.
BASELINE = """() => {
  const nodes = document.querySelector("#nodes");
  const html = nodes.innerHTML;
  nodes.replaceChildren();
  void nodes.offsetHeight;
  const started = performance.now();
  nodes.innerHTML = html;
  void nodes.offsetHeight;
  return performance.now() - started;
}"""


def start_server(workdir: Path) -> tuple[subprocess.Popen, str, str]:
    """The server (benchmarks/support/server.py) with the editor; returns (process, url, token)."""
    server = support_server.start_server(workdir, SETUP)
    return server.process, server.url, server.setup_output.split("TOKEN=", 1)[1].strip()


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", "editor-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def open_once(page: Page, url: str, name: str, chips: int) -> tuple[float, float, float]:
    """Opens the editor on ``name``; returns the ms from the spec fetched to the graph drawn, to
    the next frame, and to every chip in the DOM (off-screen ones are drawn after the paint)."""
    page.goto(f"{url}/deployments/{name}/")
    page.wait_for_selector("body[data-loaded]", timeout=120_000)
    shown = page.locator(".chip").count()
    if shown != chips:
        raise SystemExit(f"{name}: {shown} chips drawn, {chips} expected")
    page.evaluate("() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50)))")
    # An editor without these marks (one before this benchmark, run for comparison) gives nan.
    figures = [page.locator("body").get_attribute(f"data-{mark}-ms") for mark in ("render", "frame", "drawn")]
    render, framed, drawn = (float(value) if value is not None else math.nan for value in figures)
    return render, framed, drawn


def profile_open(page: Page, url: str, name: str, path: Path) -> None:
    """Saves a CPU profile of one open of ``name`` to ``path`` and prints the heaviest functions."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 100})
    cdp.send("Profiler.start")
    page.goto(f"{url}/deployments/{name}/")
    page.wait_for_selector("body[data-loaded]", timeout=120_000)
    profile = cdp.send("Profiler.stop")["profile"]
    path.write_text(json.dumps(profile))
    self_time: Counter[str] = Counter()
    by_id = {node["id"]: node for node in profile["nodes"]}
    deltas = dict.fromkeys(by_id, 0)
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        deltas[sample] += delta
    for node_id, micros in deltas.items():
        frame = by_id[node_id]["callFrame"]
        where = (
            f"{frame['functionName'] or '(anonymous)'} {Path(frame['url']).name}:{frame['lineNumber'] + 1}"
        )
        self_time[where] += micros
    print(f"profile of one open of {name} saved to {path}; self time:")
    for where, micros in self_time.most_common(15):
        print(f"  {micros / 1000:8.1f} ms  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", type=Path, help="save a CPU profile of one 100 x 20 open here")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium is missing at {CHROMIUM}; install it with `./dev start chromium`")
    with tempfile.TemporaryDirectory(prefix="editor-open-") as tmp:
        process, url, token = start_server(Path(tmp))
        try:
            run(url, token, args.rounds, args.profile)
        finally:
            process.terminate()
            process.wait(timeout=30)


def run(url: str, token: str, rounds: int, profile: Path | None) -> None:
    shapes = [(30, 10), (100, 20)]
    for entities, pods in shapes:
        created = requests.post(
            f"{url}/api/deployments/", json=manifest(f"open-{entities}x{pods}", entities, pods),
            headers={"Authorization": f"Token {token}"}, timeout=120,
        )  # fmt: skip
        if created.status_code != 201:
            raise SystemExit(
                f"creating the {entities} x {pods} deployment: {created.status_code} {created.text[:300]}"
            )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1500, "height": 950}).new_page()
        sign_in(page, url)
        print(
            f"load average {os.getloadavg()[0]:.1f}; {rounds} opens of each; target {TARGET_MS} ms at 100x20"
        )
        for entities, pods in shapes:
            name = f"open-{entities}x{pods}"
            opened, framed, drawn, floor = [], [], [], []
            first = open_once(page, url, name, entities * pods * 2)[0]  # cold caches; the rounds are alike
            for _ in range(rounds):
                render, frame, complete = open_once(page, url, name, entities * pods * 2)
                opened.append(render)
                framed.append(frame)
                drawn.append(complete)
                floor.append(float(page.evaluate(BASELINE)))
            median, base = statistics.median(opened), statistics.median(floor)
            print(
                f"editor open {entities}x{pods}: render {median:.0f} ms (min {min(opened):.0f},"
                f" max {max(opened):.0f}), to frame {statistics.median(framed):.0f} ms, every chip drawn"
                f" {statistics.median(drawn):.0f} ms; baseline (one innerHTML of the same nodes, laid out)"
                f" {base:.0f} ms; ratio {median / base:.2f}; first open (cold) render {first:.0f} ms"
            )
        if profile:
            profile_open(page, url, "open-100x20", profile)
        browser.close()


if __name__ == "__main__":
    main()
