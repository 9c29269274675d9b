"""Reconcile benchmark against the real kube-apiserver started by ./dev.

Run: ./dev bench orchestrator   (or: python benchmarks/orchestrator_reconcile.py [KUBECONFIG])

Measures, for a deployment of 20 entities x 10 pods:
- a reconcile after a partition move (p50/p95 ms, API writes), against a baseline measured in
  the same run: one observe pass (the reads every reconcile must make anyway);
- a no-op reconcile (its writes must be 0);
and convert alone for 200 entities x 50 pods, against the baseline of `to_manifest` (turning
the same spec into its plain dict) — so the ratios say what the orchestrator adds.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kubernetes import client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestrator import move_partition, to_manifest
from orchestrator.convert import ConvertContext, convert
from orchestrator.kube import KubernetesBackend, load_api_client
from orchestrator.reconcile import Target, reconcile
from orchestrator.spec import DeploymentSpec, EntitySpec, PodSpec

ROUNDS = 15


def make_spec(name: str, entities: int, pods: int, partitions_per_pod: int = 2) -> DeploymentSpec:
    def entity(i: int) -> EntitySpec:
        owned = [tuple(range(p * partitions_per_pod, (p + 1) * partitions_per_pod)) for p in range(pods)]
        return EntitySpec(
            name=f"e{i}",
            executor_image="invoker/executor-word-count:0.1",
            io_address="127.0.0.1:9092",
            input_topic=f"t{i}",
            output_topic=f"t{i + 1}",
            pods=tuple(PodSpec(f"e{i}-p{p}", owned[p]) for p in range(pods)),
        )

    return DeploymentSpec(name, tuple(entity(i) for i in range(entities)))


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def report(label: str, samples: list[float], baseline: list[float] | None = None) -> None:
    line = f"{label:<40} p50 {pct(samples, 50):8.1f} ms   p95 {pct(samples, 95):8.1f} ms"
    if baseline:
        line += f"   ratio to baseline (p50) {pct(samples, 50) / pct(baseline, 50):5.2f}x"
    print(line)


def bench_convert() -> None:
    spec = make_spec("big", 200, 50)
    ctx = ConvertContext(namespace="bench", revision="r", state_url="redis://x")
    baseline = timed(lambda: to_manifest(spec), 5)
    samples = timed(lambda: convert(spec, ctx), 5)
    report("baseline: to_manifest 200x50", baseline)
    report("convert 200 entities x 50 pods", samples, baseline)


def converge(target: Target, backend: KubernetesBackend, timeout: float = 300) -> None:
    """Measures start from a settled deployment: every pod Running, the status Ready."""
    deadline = time.monotonic() + timeout
    while reconcile(target, backend).status.get("state") != "Ready":
        if time.monotonic() > deadline:
            raise SystemExit(f"the deployment did not become Ready in {timeout:.0f}s")
        time.sleep(0.5)


def bench_reconcile(kubeconfig: str) -> None:
    api = load_api_client(kubeconfig)
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
    backend = KubernetesBackend(api, namespace)
    spec = make_spec("bench", 20, 10)
    try:
        first = reconcile(Target(spec, "bench-r1", 1, "redis://x"), backend)
        print(f"initial create: {first.writes} writes in {first.duration_ms:.0f} ms")
        converge(Target(spec, "bench-r1", 1, "redis://x"), backend)
        baseline = timed(lambda: backend.observe("bench"), ROUNDS)
        moves, writes = [], []
        for i in range(ROUNDS):
            spec = move_partition(spec, "e0", i % 2, f"e0-p{(i + 1) % 10}")
            result = reconcile(Target(spec, f"bench-r{i + 2}", i + 2, "redis://x"), backend)
            moves.append(result.duration_ms)
            writes.append(result.writes)
        noop_target = Target(spec, f"bench-r{ROUNDS + 1}", ROUNDS + 1, "redis://x")
        converge(noop_target, backend)
        noops = [reconcile(noop_target, backend) for _ in range(ROUNDS)]
        report("baseline: observe only (20x10)", baseline)
        report("reconcile after a partition move", moves, baseline)
        print(f"{'':<40} writes per move: {sorted(set(writes))}")
        report("no-op reconcile", [r.duration_ms for r in noops], baseline)
        print(f"{'':<40} writes per no-op: {sorted({r.writes for r in noops})} (must be [0])")
    finally:
        client.CoreV1Api(api).delete_namespace(namespace)


def main() -> None:
    default = Path(os.environ.get("INVOKER_RUN", Path.home() / ".cache/invoker/run")) / "kube" / "kubeconfig"
    kubeconfig = sys.argv[1] if len(sys.argv) > 1 else str(default)
    bench_convert()
    bench_reconcile(kubeconfig)


if __name__ == "__main__":
    main()
