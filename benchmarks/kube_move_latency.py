"""How soon a pod learns of a partition move on Kubernetes: the API watch against the kubelet's sync.

Run: ./dev bench kube_move   (or: python benchmarks/kube_move_latency.py [--moves N] [--sync-period S])

Phase 1, out of cluster against the real kube-apiserver started by ./dev (the real node's
end-to-end figure, click to first record consumed, is phase 2: tests/integration and this file
once the node runs our images). Both paths are timed from the moment the reconcile starts
writing the move (the orchestrator's own reconcile, server-side apply of the ConfigMap) to the
moment the executor's own ConfigWatcher, polled every POLL_SECONDS as the io sidecar's loop
polls it, hands out the new assignment:

- **API path** (the target): the watcher watches the ConfigMap through the API as the entity's
  ServiceAccount, with a token from the TokenRequest API and only the Role convert makes.
  Moves one after another, p50/p95 over ``--moves`` (default 20). Target: p95 ≤ 1 s.
- **kubelet-sync path** (the baseline, same run): file-only watchers of kubelet-style
  directories (atomic ``..data`` swap), refreshed the way the kubelet refreshes a ConfigMap
  volume: at each periodic sync of the pod, every ``--sync-period`` (kubelet default
  syncFrequency: 60 s) plus up to 50% jitter (the kubelet's pod-worker resync jitter), from a
  random phase, as pods started at different times. One ConfigMap per sample, all moved at once,
  so the run takes one to two sync periods instead of twenty.

The io sidecar's loop adds at most INVOKER_IDLE_POLL_MS (200 ms) when idle, less under load, to
either path before the first record of a gained partition is consumed.
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from executor.config_watcher import ConfigWatcher
from executor.configmap_watch import ConfigMapWatch
from executor.localpod import ConfigMapDir
from orchestrator import load_manifest_yaml, move_partition, parse_deployment
from orchestrator.convert import ConvertContext, config_map_name, entity_config_map
from orchestrator.kube import KubernetesBackend, load_api_client
from orchestrator.reconcile import Target, reconcile
from orchestrator.spec import DeploymentSpec

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "word-count.yaml"
STATE_URL = "redis://127.0.0.1:16379/9"
POLL_SECONDS = 0.005
JITTER = 0.5  # the kubelet's workerResyncIntervalJitterFactor
TARGET_P95 = 1.0


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def splitter_partitions(spec: DeploymentSpec, pod: str = "splitter-0") -> frozenset[int]:
    entity = spec.entity("splitter")
    assert entity is not None
    return next(frozenset(p.partitions) for p in entity.pods if p.name == pod)


def toggled(spec: DeploymentSpec, move: int) -> DeploymentSpec:
    """Partition 1 of the splitter goes back and forth between splitter-0 and splitter-1."""
    return move_partition(spec, "splitter", 1, "splitter-1" if move % 2 else "splitter-0")


class Cluster:
    """A namespace on the real API server, the orchestrator's backend for it, tokens on demand."""

    def __init__(self, kubeconfig: str) -> None:
        self.api = load_api_client(kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.namespace = f"bench-move-{uuid.uuid4().hex[:6]}"
        self.core.create_namespace({"metadata": {"name": self.namespace}})
        self.backend = KubernetesBackend(self.api, self.namespace)

    def as_account(self, account: str) -> client.CoreV1Api:
        """A client with a fresh token of ``account``: what the kubelet mounts into the pod."""
        request = {"spec": {"expirationSeconds": 3600}}
        token = self.core.create_namespaced_service_account_token(
            account, self.namespace, request
        ).status.token
        admin, configuration = self.api.configuration, client.Configuration()
        configuration.host, configuration.ssl_ca_cert = admin.host, admin.ssl_ca_cert
        configuration.verify_ssl = admin.verify_ssl
        configuration.api_key = {"authorization": f"Bearer {token}"}
        return client.CoreV1Api(client.ApiClient(configuration))

    def delete(self) -> None:
        self.core.delete_namespace(self.namespace)


class PodLoop:
    """The io sidecar's loop, reduced to its config part: polls the watcher every POLL_SECONDS in
    its own thread (so the notification is timed even while the reconcile is still running) and
    records when each assignment started to run."""

    def __init__(self, watcher: ConfigWatcher) -> None:
        self.watcher = watcher
        self.changes: list[tuple[float, frozenset[int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            new = self.watcher.poll()
            if new is not None:
                self.changes.append((time.perf_counter(), new.pod.partitions))

    def seen(self, partitions: frozenset[int], since: float, timeout: float) -> float:
        """When ``partitions`` started to run, after ``since``."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for at, running in list(self.changes):
                if at >= since and running == partitions:
                    return at
            time.sleep(POLL_SECONDS)
        raise SystemExit(f"the pod did not run partitions {sorted(partitions)} within {timeout:.0f}s")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def api_path(cluster: Cluster, spec: DeploymentSpec, moves: int) -> tuple[list[float], list[float]]:
    """Click to config through the watch: reconciles of real moves, seen by the pod's watcher."""
    first = reconcile(Target(spec, "r1", 1, STATE_URL), cluster.backend)
    if first.error:
        raise SystemExit(f"the first reconcile failed: {first.error}")
    account = config_map_name(spec.name, "splitter")
    watch = ConfigMapWatch(lambda: cluster.as_account(account), cluster.namespace, account).start()
    files = ConfigMapDir(Path(tempfile.mkdtemp(prefix="bench-move-")))
    files.write(dict(cluster.core.read_namespaced_config_map(account, cluster.namespace).data))
    watcher = ConfigWatcher(files.path, "splitter-0", api=watch)
    watcher.load()
    while not (watch.in_sync and watch.latest()):
        time.sleep(0.05)
    pod = PodLoop(watcher)
    latencies, reconciles = [], []
    try:
        for move in range(1, moves + 1):
            spec = toggled(spec, move)
            started = time.perf_counter()
            result = reconcile(Target(spec, f"r{move + 1}", move + 1, STATE_URL), cluster.backend)
            reconciles.append(result.duration_ms / 1000)
            if result.error:
                raise SystemExit(f"move {move}: the reconcile failed: {result.error}")
            latencies.append(pod.seen(splitter_partitions(spec), started, 30) - started)
    finally:
        pod.stop()
        watch.stop(timeout=0.1)
    return latencies, reconciles


@dataclass(order=True)
class KubeletPod:
    """One pod's ConfigMap volume, refreshed at the pod's periodic syncs (the kubelet's behaviour)."""

    next_sync: float
    name: str = field(compare=False)
    files: ConfigMapDir = field(compare=False)
    watcher: ConfigWatcher = field(compare=False)
    data: dict[str, str] = field(compare=False, default_factory=dict)

    def sync(self, core: client.CoreV1Api, namespace: str, period: float) -> None:
        data = dict(core.read_namespaced_config_map(self.name, namespace).data)
        if data != self.data:
            self.files.write(data)
            self.data = data
        self.next_sync += period * (1 + random.uniform(0, JITTER))


def kubelet_path(cluster: Cluster, spec: DeploymentSpec, samples: int, period: float) -> list[float]:
    """Click to config through the mounted file: one ConfigMap per sample, all moved at once."""
    entity = spec.entity("splitter")
    assert entity is not None
    root = Path(tempfile.mkdtemp(prefix="bench-kubelet-"))
    pods = []
    now = time.perf_counter()
    for i in range(samples):
        manifest = entity_config_map(spec, entity, ConvertContext(cluster.namespace, "r1", STATE_URL))
        manifest["metadata"]["name"] = name = f"kubelet-sync-{i}"
        cluster.backend.apply(manifest)
        files = ConfigMapDir(root / name)
        files.write(dict(manifest["data"]))
        watcher = ConfigWatcher(files.path, "splitter-0", api=None)
        watcher.load()
        # A pod started at a random moment: its next sync is anywhere within one resync interval.
        pods.append(
            KubeletPod(now + random.uniform(0, period * (1 + JITTER)), name, files, watcher, manifest["data"])
        )
    heapq.heapify(pods)
    moved = toggled(spec, 1)
    wanted = splitter_partitions(moved)
    started = {}
    moved_entity = moved.entity("splitter")
    for pod in pods:
        manifest = entity_config_map(
            moved, moved_entity, ConvertContext(cluster.namespace, "r2", STATE_URL, {"splitter": 2})
        )
        manifest["metadata"]["name"] = pod.name
        started[pod.name] = time.perf_counter()
        cluster.backend.apply(manifest)
    return sorted(seen - started[name] for name, seen in run_kubelet(cluster, pods, wanted, period).items())


def run_kubelet(
    cluster: Cluster, pods: list[KubeletPod], wanted: frozenset[int], period: float
) -> dict[str, float]:
    """Syncs each pod when due and polls every watcher, until every pod runs ``wanted``."""
    seen: dict[str, float] = {}
    deadline = time.perf_counter() + 3 * period * (1 + JITTER)
    while len(seen) < len(pods):
        if time.perf_counter() > deadline:
            raise SystemExit(f"only {len(seen)}/{len(pods)} pods saw the move through the file")
        while pods[0].next_sync <= time.perf_counter():
            pod = heapq.heappop(pods)
            pod.sync(cluster.core, cluster.namespace, period)
            heapq.heappush(pods, pod)
        for pod in pods:
            pod.watcher.poll()
            if pod.name not in seen and pod.watcher.current.pod.partitions == wanted:
                seen[pod.name] = time.perf_counter()
        time.sleep(POLL_SECONDS)
    return seen


def report(label: str, samples: list[float]) -> None:
    print(
        f"{label:<44} p50 {pct(samples, 50) * 1000:9.1f} ms   p95 {pct(samples, 95) * 1000:9.1f} ms"
        f"   n={len(samples)}"
    )


def main() -> None:
    default = Path(os.environ.get("INVOKER_RUN", Path.home() / ".cache/invoker/run")) / "kube" / "kubeconfig"
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kubeconfig", default=str(default))
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--sync-period", type=float, default=60.0, help="the kubelet's syncFrequency (s)")
    args = parser.parse_args()
    spec = parse_deployment(load_manifest_yaml(EXAMPLE.read_text()))
    cluster = Cluster(args.kubeconfig)
    try:
        print("phase 1: out of cluster, against the real kube-apiserver; the watcher is the executor's own")
        latencies, reconciles = api_path(cluster, spec, args.moves)
        print(
            f"kubelet-sync baseline: {args.moves} pods, a sync every {args.sync_period:.0f} s + up to 50%"
            " jitter ..."
        )
        baseline = kubelet_path(cluster, spec, args.moves, args.sync_period)
    finally:
        cluster.delete()
    report("the reconcile of a move, whole (for scale)", reconciles)
    report("API watch: move -> pod runs the new config", latencies)
    report("baseline, kubelet sync: same", baseline)
    print(f"ratio baseline / API watch (p50): {pct(baseline, 50) / pct(latencies, 50):.0f}x")
    verdict = "met" if pct(latencies, 95) <= TARGET_P95 else "MISSED"
    print(f"target p95 <= {TARGET_P95:.1f} s through the API watch: {verdict}")


if __name__ == "__main__":
    main()
