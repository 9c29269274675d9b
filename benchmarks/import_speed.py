"""How long a legitimate large manifest takes to import: 1 MiB of partition numbers, and 2,000 pods.

Run: ./dev bench import_speed   (or: python benchmarks/import_speed.py [--rounds N])

Two parts, each against a baseline measured in the same run:

- **parsing, in process**: :func:`orchestrator.load_manifest_yaml` (libyaml's events, one
  building loop), the strict pure-Python loader it replaced (``_StrictSafeLoader``, which took
  13 s for the 1 MiB manifest at the time of issue 12), and ``json.loads`` of the same document
  (the baseline: the cheapest a parse of that document can be in Python);
- **end to end over HTTP**: Uvicorn on a SQLite database of its own (started as
  ``hostile_input.py`` does), an editor POSTing ``/api/deployments/import/`` with the YAML, and
  the same document as JSON (the baseline). Every round changes ``historyLimit``, so each
  import validates, writes the rows and a revision. Wall time (p50 and max) and the server's
  own CPU time per request (from ``/proc``; a loaded machine stretches the wall time, not this).

The target is every request under 1 s. The load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from hostile_input import start_server  # noqa: E402

from orchestrator.spec.manifest_yaml import MAX_MANIFEST_BYTES, _StrictSafeLoader, load_manifest_yaml  # noqa: E402

EXAMPLE = (ROOT / "examples" / "word-count.yaml").read_text()
TARGET_MS = 1000
UPLOAD = "/api/deployments/import/"


def mebibyte_manifest() -> str:
    """The example with two pods owning some 145,000 partitions between them (each under the
    100,000 a pod may own), grown until the manifest is just under 1 MiB, the most the import
    accepts."""
    head, rest = EXAMPLE.split('["2", "3"]')
    middle, tail = rest.split("[0, 1, 2, 3, 4, 5]")
    first = ", ".join(map(str, range(6, 80_000)))
    room = MAX_MANIFEST_BYTES - len(head) - len(middle) - len(tail) - len(first) - 4
    second = ", ".join(map(str, range(0, 100_000)))[:room].rsplit(",", 1)[0]
    return f"{head}[{first}]{middle}[{second}]{tail}"


def pods_manifest(entities: int = 10, pods: int = 200) -> str:
    """``entities`` entities of ``pods`` pods each (2,000 pods: the default limit), each pod
    with one partition and the example's resources."""
    lines = [
        "apiVersion: invokeroperator.invoker.io/v1alpha1",
        "kind: InvokerDeployment",
        "metadata:",
        "  name: two-thousand-pods",
        "spec:",
        '  version: "v1"',
        "  historyLimit: 5",
        "  statefulEntities:",
    ]
    for e in range(entities):
        lines += [
            f"    - name: stage-{e}",
            '      executorImage: "invoker/executor-sum:0.1"',
            '      ioAddress: "127.0.0.1:9092"',
            f'      inputTopic: "in-{e}"',
            f'      outputTopic: "out-{e}"',
            "      pods:",
        ]
        for p in range(pods):
            lines += [
                f"        - name: stage-{e}-{p}",
                f"          partitions: [{p}]",
                "          resources:",
                "            requests: {cpu: 250m, memory: 64Mi}",
                "            limits: {cpu: 500m, memory: 256Mi}",
            ]
    return "\n".join(lines) + "\n"


def best_of(function: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Wall and CPU time of the fastest of ``rounds`` calls, in ms (the least disturbed)."""
    samples = []
    for _ in range(rounds):
        started, cpu = time.perf_counter(), time.process_time()
        function()
        samples.append(((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000))
    return min(samples)


def parsing(documents: dict[str, str], rounds: int) -> None:
    print(f"parsing in process (best of {rounds}; the pure-Python loader once)")
    print(
        f"{'document':22} {'bytes':>9} {'json.loads':>11} {'import':>9} {'cpu':>9}"
        f" {'÷ json':>7} {'pure Python':>12}"
    )
    for name, text in documents.items():
        as_json = json.dumps(load_manifest_yaml(text))
        baseline, _ = best_of(lambda: json.loads(as_json), rounds)  # noqa: B023
        ours, ours_cpu = best_of(lambda: load_manifest_yaml(text), rounds)  # noqa: B023
        pure, _ = best_of(lambda: list(yaml.load_all(text, Loader=_StrictSafeLoader)), 1)  # noqa: B023
        print(
            f"{name:22} {len(text.encode()):9d} {baseline:9.1f}ms {ours:7.1f}ms {ours_cpu:7.1f}ms "
            f"{ours / baseline:7.1f} {pure:10.1f}ms"
        )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def over_http(url: str, pid: int, token: str, documents: dict[str, str], rounds: int) -> None:
    print(f"\nPOST {UPLOAD} end to end ({rounds} rounds, each a real change)")
    print(f"{'upload':38} {'status':>7} {'p50 ms':>8} {'max ms':>8} {'cpu ms':>7} {'÷ json':>7}  target")
    for name, text in documents.items():
        results = {}
        for kind in ("JSON", "YAML"):
            walls, cpus, statuses = [], [], set()
            for i in range(rounds):
                limit = 6 + i + (rounds if kind == "YAML" else 0)  # never an earlier spec: a rollback
                changed = text.replace("historyLimit: 5", f"historyLimit: {limit}", 1)
                manifest = load_manifest_yaml(changed)
                body, content_type = (
                    (json.dumps(manifest), "application/json")
                    if kind == "JSON"
                    else (changed, "application/yaml")
                )
                headers = {"Authorization": f"Token {token}", "Content-Type": content_type}
                cpu, started = cpu_seconds(pid), time.perf_counter()
                response = requests.post(url + UPLOAD, data=body.encode(), headers=headers, timeout=300)
                walls.append((time.perf_counter() - started) * 1000)
                cpus.append((cpu_seconds(pid) - cpu) * 1000)
                statuses.add(response.status_code)
                if response.status_code >= 400:
                    raise SystemExit(f"{name} as {kind} was refused: {response.text[:500]}")
            results[kind] = (statistics.median(walls), max(walls), statistics.median(cpus), statuses)
        baseline = results["JSON"][0]
        for kind, (p50, worst, cpu, statuses) in results.items():
            verdict = "ok" if worst < TARGET_MS else "SLOW"
            status = ",".join(map(str, sorted(statuses)))
            label = f"{name} ({kind}{', baseline' if kind == 'JSON' else ''})"
            print(
                f"{label:38} {status:>7} {p50:8.1f} {worst:8.1f} {cpu:7.0f} {p50 / baseline:7.2f}  {verdict}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    documents = {"1 MiB of partitions": mebibyte_manifest(), "2,000 pods": pods_manifest()}
    print(f"load average at start: {os.getloadavg()}")
    parsing(documents, args.rounds)
    with tempfile.TemporaryDirectory(prefix="invoker-import-speed-") as workdir:
        process, url, tokens = start_server(Path(workdir))
        try:
            over_http(url, process.pid, tokens["editor"], documents, args.rounds)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
