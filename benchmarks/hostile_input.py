"""How long the API takes to refuse the hostile and careless requests of issue 12.

Run: ./dev bench hostile_input   (or: python benchmarks/hostile_input.py [--rounds N])

Starts Uvicorn (as in production) on a SQLite database of its own in a temporary directory,
with an editor and a user without a role, and times each request end to end over HTTP
(p50 and max of ``--rounds`` runs). The baseline, measured in the same run, is the import of
the unchanged word-count example (a write that changes nothing); the ratio says how much
more a refusal costs than that. The target is every refusal under 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.support import server as support_server  # noqa: E402

EXAMPLE = (ROOT / "examples" / "word-count.yaml").read_text()
TARGET_MS = 1000
SETUP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
editor = User.objects.create_user("editor")
editor.groups.set([Group.objects.get(name="editor")])
outsider = User.objects.create_user("outsider")
print("TOKENS=" + Token.objects.create(user=editor).key + "," + Token.objects.create(user=outsider).key)
"""


def merge_bomb(levels: int = 7) -> str:
    lines = ["l0: &l0 {a: 1}"]
    lines += [f"l{i}: &l{i} {{<<: [{', '.join([f'*l{i - 1}'] * 10)}]}}" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def start_server(workdir: Path) -> tuple[subprocess.Popen, str, dict[str, str]]:
    """The server (benchmarks/support/server.py) with an editor and an outsider; (process, url, tokens)."""
    server = support_server.start_server(workdir, SETUP)
    editor, outsider = server.setup_output.split("TOKENS=", 1)[1].strip().split(",")
    return server.process, server.url, {"editor": editor, "outsider": outsider}


def cases(url: str, tokens: dict[str, str]) -> dict[str, Callable[[], requests.Response]]:
    def call(who: str, method: str, path: str, **kwargs: object) -> Callable[[], requests.Response]:
        headers = {"Authorization": f"Token {tokens[who]}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return lambda: requests.request(method, url + path, headers=headers, timeout=120, **kwargs)  # type: ignore[arg-type]

    yaml, js = {"Content-Type": "application/yaml"}, {"Content-Type": "application/json"}
    item, upload = "/api/deployments/word-count-demo/", "/api/deployments/import/"
    current = requests.get(
        url + item, headers={"Authorization": f"Token {tokens['editor']}"}, timeout=30
    ).json()
    unknown = {**current, "spec": {**current["spec"], **{f"key{i}": i for i in range(100_000)}}}
    huge_cpu = EXAMPLE.replace("requests: {cpu: 250m,", "requests: {cpu: 1e9999999999999999999999,")
    nested, long_tag = "[" * 1000 + "]" * 1000, {"If-Match": f'"{"9" * 5000}"'}
    table = [
        (
            "baseline: import the unchanged example",
            "editor",
            "POST",
            upload,
            {"data": EXAMPLE, "headers": yaml},
        ),
        ("merge bomb (470 B), no role", "outsider", "POST", upload, {"data": merge_bomb(), "headers": yaml}),
        ("merge bomb (470 B), editor", "editor", "POST", upload, {"data": merge_bomb(), "headers": yaml}),
        ("JSON nested 1,000 deep, no role", "outsider", "PUT", item, {"data": nested, "headers": js}),
        ("JSON nested 1,000 deep, editor", "editor", "PUT", item, {"data": nested, "headers": js}),
        ("PUT of 100,000 unknown keys", "editor", "PUT", item, {"data": json.dumps(unknown), "headers": js}),
        ("JSON body over the upload limit", "editor", "PUT", item, {"json": {"x": "y" * 2_700_000}}),
        ("If-Match of 5,000 digits", "editor", "PATCH", item, {"json": {"spec": {}}, "headers": long_tag}),
        (
            "quantity 1e9999999999999999999999 (YAML)",
            "editor",
            "POST",
            upload,
            {"data": huge_cpu, "headers": yaml},
        ),
        (
            "YAML of 1 MiB (145,000 partitions: over a pod's limit)",
            "editor",
            "POST",
            upload,
            {"data": mebibyte(), "headers": yaml},
        ),
    ]
    return {name: call(who, method, path, **kwargs) for name, who, method, path, kwargs in table}


def mebibyte() -> str:
    """The example with one pod's partition list grown until the manifest is 1 MiB, the most the
    import accepts; parsed whole, then refused by the 100,000 partitions a pod may own (a
    legitimate 1 MiB import is timed by ``import_speed.py``)."""
    head, tail = EXAMPLE.split('["2", "3"]')
    room = 1024 * 1024 - len(head) - len(tail) - 2
    numbers = ", ".join(map(str, range(200_000)))[:room].rsplit(",", 1)[0]
    return f"{head}[{numbers}]{tail}"


def timed(request: Callable[[], requests.Response], rounds: int) -> tuple[list[float], set[int]]:
    samples, statuses = [], set()
    for _ in range(rounds):
        started = time.perf_counter()
        statuses.add(request().status_code)
        samples.append((time.perf_counter() - started) * 1000)
    return samples, statuses


def parallel_patches(url: str, token: str) -> list[int]:
    item = url + "/api/deployments/word-count-demo/"
    headers = {"Authorization": f"Token {token}"}
    etag = requests.get(item, headers=headers, timeout=30).headers["ETag"]
    start, statuses = threading.Barrier(8), []

    def patch(i: int) -> None:
        start.wait()
        body = {"spec": {"historyLimit": 20 + i}}
        statuses.append(
            requests.patch(item, json=body, headers={**headers, "If-Match": etag}, timeout=60).status_code
        )

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="invoker-hostile-") as workdir:
        process, url, tokens = start_server(Path(workdir))
        try:
            headers = {"Authorization": f"Token {tokens['editor']}", "Content-Type": "application/yaml"}
            requests.post(url + "/api/deployments/import/", data=EXAMPLE, headers=headers, timeout=30)
            report(cases(url, tokens), args.rounds)
            print(f"\n8 parallel PATCHes with one If-Match: {parallel_patches(url, tokens['editor'])}")
        finally:
            process.terminate()
            process.wait(timeout=30)


def report(requests_by_name: dict[str, Callable[[], requests.Response]], rounds: int) -> None:
    results = {name: timed(request, rounds) for name, request in requests_by_name.items()}
    baseline = statistics.median(next(iter(results.values()))[0])
    print(f"{'request':45} {'status':>8} {'p50 ms':>9} {'max ms':>9} {'÷ base':>8}  target < {TARGET_MS} ms")
    for name, (samples, statuses) in results.items():
        p50, worst = statistics.median(samples), max(samples)
        verdict = "ok" if worst < TARGET_MS else "SLOW"
        status = ",".join(map(str, sorted(statuses)))
        print(f"{name:45} {status:>8} {p50:9.1f} {worst:9.1f} {p50 / baseline:8.2f}  {verdict}")


if __name__ == "__main__":
    main()
