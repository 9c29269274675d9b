"""How soon a pod learns of a partition move on Kubernetes: the API watch against the kubelet's sync.

Run: ./dev bench kube_move   (or: python benchmarks/kube_move_latency.py [--phase auto|1|2] ...)

**On the real node** (phase 2, the default whenever `./dev start kube` runs the node and
`./dev images` built the images): the word-count sample runs as real pods, reconciled by a real
Celery worker through the kubernetes backend (tests/integration/real_node_harness.py), while
lines are fed at a steady rate. Timed **click to consume**: from the save (the same service
call the REST endpoint makes, `services.move_partition`, which commits and queues the
reconcile) to the first record the gaining pod consumes from the partition it gained, read
from its own `invoker_records_in_total{partition}` at its pod address.

- **API watch** (the target, p95 ≤ 1 s): `--moves` (20) moves of partition 1 back and forth
  between splitter-0 and splitter-1, with where the time goes (each stage from the save: the
  worker's pass, the gaining pod's new config, the losing pod's release, the gaining pod's
  acquisition and first record), from the pods' and the worker's logs.
- **kubelet sync** (the baseline, same run, same pods' images): the splitter's RoleBinding is
  deleted and its pods restarted, so their watch is refused and only the mounted file is left;
  then the ConfigMap is written directly (a reconcile would put the RoleBinding back), each
  write moving one partition of each of the three pods to the next (`--baseline-rounds`, 3,
  so 9 samples), timed from the write.

**Out of cluster** (phase 1, when there is no node): timed from the start of the reconcile
that writes the move to the moment the executor's own ConfigWatcher, polled every POLL_SECONDS
as the io sidecar's loop polls it, hands out the new assignment:

- **API path**: the watcher watches the ConfigMap through the API as the entity's
  ServiceAccount, with a token from the TokenRequest API and only the Role convert makes.
- **kubelet-sync path** (baseline): file-only watchers of kubelet-style directories refreshed
  the way the kubelet refreshes a ConfigMap volume: at each periodic sync of the pod, every
  ``--sync-period`` (kubelet default syncFrequency: 60 s) plus up to 50% jitter, from a random
  phase; one ConfigMap per sample, all moved at once.

The io sidecar's loop does not add its idle poll (INVOKER_IDLE_POLL_MS, 200 ms) to these: the
API watch wakes it (pipeline.py), and the pods are placed on the real node by the orchestrator's
INVOKER_POD_NODE_SELECTOR / INVOKER_POD_TOLERATIONS (the harness's NODE_PLACEMENT). The figures
depend heavily on the machine's load (every stage is a few processes sharing its cores): print
`uptime` with them.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.support.stats import pct
from executor.cleanup import delete_deployment_data
from executor.config_watcher import ConfigWatcher
from executor.configmap_watch import ConfigMapWatch
from orchestrator import load_manifest_yaml, move_partition, parse_deployment
from orchestrator.reconciler.convert import ConvertContext, config_map_name, entity_config_map
from orchestrator.reconciler.kube import KubernetesBackend, load_api_client
from orchestrator.reconciler.reconcile import Target, reconcile
from orchestrator.spec.model import DeploymentSpec
from podcontract.volume import ConfigMapDir
from tests.executor.harness import LineProducer, make_lines
from tests.integration.real_node_harness import (
    ControlPlane,
    Images,
    MissingError,
    WordCount,
    create_topics,
    delete_topics,
    load_node,
    placed_namespace,
    wait,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "word-count.yaml"
STATE_URL = "redis://127.0.0.1:16379/9"
POLL_SECONDS = 0.005
JITTER = 0.5  # the kubelet's workerResyncIntervalJitterFactor
TARGET_P95 = 1.0


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


# --- phase 2: on the real node ---------------------------------------------------------------
NODE_IMAGES = ("io-sidecar", "state-sidecar", "executor-word-count", "executor-sum")
LINES_PER_SECOND = 200


def in_process_services(env: dict[str, str]) -> Any:
    """The dashboard's own service layer, on the control plane's database: a save here commits
    and queues the reconcile exactly as the REST endpoint's does."""
    shared = ("DATABASE_URL", "REDIS_URL", "INVOKER_RECONCILE_QUEUE", "INVOKER_STATE_REDIS_URL")
    for key in (*shared, "DEBUG", "SECRET_KEY"):
        os.environ[key] = env[key]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "invoker_web.settings")
    import django

    django.setup()
    from topology_editor import services

    return services


def settled(wc: WordCount, timeout: float = 420) -> dict[str, Any]:
    return wait(lambda: wc.running() if wc.root_state() == "Ready" else None, timeout, "the pods", interval=1)


def consumed(wc: WordCount, pod: Any, partition: int, before: float, timeout: float) -> float:
    """When ``pod`` consumed a record of ``partition`` beyond ``before`` (polled every 10 ms)."""
    wait(lambda: wc.records_in(pod, partition) > before, timeout, f"partition {partition} consumed", 0.01)
    return time.perf_counter()


def api_moves(wc: WordCount, services: Any, moves: int) -> tuple[list[float], list[tuple[float, str, float]]]:
    """Click to consume through the watch: partition 1 back and forth between two pods. Also
    returns each save's wall-clock time, gaining pod and how long the save call itself took
    (the transaction and queueing the reconcile), to find its stages in the logs."""
    from topology_editor.models import Interface

    samples, saves = [], []
    for _ in range(moves):
        owner = next(pod for pod, parts in wc.assignment.items() if 1 in parts)
        gainer = "splitter-1" if owner == "splitter-0" else "splitter-0"
        pod = wc.pods()[gainer]
        before = wc.records_in(pod, 1)
        wall, started = time.time(), time.perf_counter()
        services.move_partition(wc.name, "splitter", 1, gainer, actor=None, interface=Interface.API)
        saves.append((wall, gainer, time.perf_counter() - started))
        samples.append(consumed(wc, pod, 1, before, 60) - started)
        wc.assignment[owner].remove(1)
        wc.assignment[gainer] = sorted([*wc.assignment[gainer], 1])
        time.sleep(1.0)  # the loser releases, the reconcile settles
    return samples, saves


#: Log lines that mark a move's stages, in the order of the path: the worker's pass (its line gives
#: its duration, so its start too), then the io sidecars of the gaining pod (and of the losing pod,
#: for its watch event and release). A config line says how long the version waited for the loop
#: after its watch event (config_watcher.py), so the event's own time is the line's minus that.
#: Each: (column, description, whose log, pattern; group 1 the time, group 2 ms to subtract).
STAGES: list[tuple[str, str, str, re.Pattern[str]]] = [
    ("recv", "the worker received the task", "worker",
     re.compile(r"^\[(\S+ \S+): INFO/MainProcess\] Task jobs.reconcile\[\S+\] received")),
    ("pass0", "the reconcile pass started", "worker",
     re.compile(r"^\[(\S+ \S+): INFO/MainProcess\] reconciled \S+: changed, \d+ writes, (\d+) ms")),
    ("pass", "the reconcile pass done", "worker",
     re.compile(r"^\[(\S+ \S+): INFO/MainProcess\] reconciled \S+: changed")),
    ("evOld", "the old owner's watch event", "loser",
     re.compile(r"^(\S+ \S+) \S+/io INFO executor.config_watcher: config version \S+ from the api "
                r"\(epoch \d+, (\d+) ms after")),
    ("rel", "the old owner released it", "loser",
     re.compile(r"^(\S+ \S+) \S+/io INFO executor.ownership: assignment epoch \d+: .*released \[1\]")),
    ("evNew", "the new owner's watch event", "gainer",
     re.compile(r"^(\S+ \S+) \S+/io INFO executor.config_watcher: config version \S+ from the api "
                r"\(epoch \d+, (\d+) ms after")),
    ("ahead", "the new owner's claim ahead of its loop began", "gainer",
     re.compile(r"^(\S+ \S+) \S+/io INFO executor.ownership: epoch \d+ seen ahead of the loop: "
                r"claiming \[1\]")),
    ("cfgNew", "the new owner's loop took the config", "gainer",
     re.compile(r"^(\S+ \S+) \S+/io INFO executor.config_watcher: config version")),
    ("claim", "the waiter claimed it and opened its producer", "gainer",
     re.compile(r"^(\S+ \S+) \S+/io INFO executor.partition_tasks: claimed partitions \[1\]")),
    ("acq", "partition acquired", "gainer",
     re.compile(r"^(\S+ \S+) \S+/io INFO executor.ownership: acquired partitions \[1\]")),
    ("first", "first record consumed (the pod's log)", "gainer",
     re.compile(r"^(\S+ \S+) \S+/io INFO executor.pipeline: partition 1: first record")),
]  # fmt: skip
ACQUIRED_STEPS = re.compile(
    r"^(\S+ \S+) \S+/io INFO executor.ownership: acquired partitions \[1\] .*"
    r"\(producers (\d+) ms, offsets and recovery (\d+) ms\)"
)
#: How many of the slowest moves are shown stage by stage.
SLOWEST = 5


def stamped(lines: list[str], pattern: re.Pattern[str]) -> list[tuple[float, list[str]]]:
    """Each matching line's wall-clock time and its other groups."""
    found = []
    for line in lines:
        match = pattern.match(line)
        if match:
            stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
            found.append((stamp.timestamp(), list(match.groups()[1:])))
    return found


def move_stages(
    sources: dict[str, list[str]], saved: float, end: float, gainer: str
) -> dict[str, float | None]:
    """One move's stages, each in s from its save (None: not in the logs), from the first line of
    each kind between this save and the next."""
    loser = "splitter-1" if gainer == "splitter-0" else "splitter-0"
    whose = {"worker": sources["worker"], "gainer": sources[gainer], "loser": sources[loser]}
    stages: dict[str, float | None] = {}
    for column, _, source, pattern in STAGES:
        at = next(
            (
                t - (int(rest[0]) / 1000 if rest else 0)
                for t, rest in stamped(whose[source], pattern)
                if saved <= t < end
            ),
            None,
        )
        stages[column] = None if at is None else at - saved
    steps = next((rest for t, rest in stamped(sources[gainer], ACQUIRED_STEPS) if saved <= t < end), None)
    stages["prod"] = int(steps[0]) / 1000 if steps else None
    stages["rec"] = int(steps[1]) / 1000 if steps else None
    return stages


def breakdown(
    wc: WordCount, worker_log: Path, saves: list[tuple[float, str, float]], latencies: list[float]
) -> None:
    """Where the time of each move goes: the stages' log lines against the saves (one clock; a
    pod may have the config before the pass that wrote it has recorded its status), over all
    moves, then move by move for the slowest."""
    pods = wc.pods()
    sources = {
        name: wc.core.read_namespaced_pod_log(
            pods[name].metadata.name, wc.namespace, container="io"
        ).splitlines()
        for name in ("splitter-0", "splitter-1")
    }
    for name, lines in sources.items():  # kept with the worker's, to look into a slow move
        (worker_log.parent / f"{name}.io.log").write_text("\n".join(lines))
    sources["worker"] = worker_log.read_text().splitlines()
    print(f"the logs: {worker_log.parent}/ (worker.log, splitter-*.io.log)")
    ends = [saved for saved, _, _ in saves[1:]] + [float("inf")]
    moves = [
        {"save": took, **move_stages(sources, saved, end, gainer)}
        for (saved, gainer, took), end in zip(saves, ends, strict=True)
    ]
    print("where the time goes, each stage timed from the save (pod logs and the worker's, one clock):")
    report(
        "  save -> the save call returned (transaction, reconcile queued) [save]", [m["save"] for m in moves]
    )
    for column, description, _, _ in STAGES:
        samples = [m[column] for m in moves if m[column] is not None]
        if len(samples) >= 2:
            report(f"  save -> {description} [{column}]", samples)
    for column, description in (
        ("prod", "producers still to open after the claim"),
        ("rec", "offsets and recovery"),
    ):
        samples = [m[column] for m in moves if m[column] is not None]
        if len(samples) >= 2:
            report(f"  the acquisition's own step: {description} [{column}]", samples)
    columns = ["save"] + [c for c, *_ in STAGES] + ["prod", "rec"]
    print(f"the {SLOWEST} slowest moves, ms from the save ([prod], [rec]: durations; -: no line):")
    print("  " + " ".join(f"{c:>7}" for c in ["total", *columns]))
    for latency, stages in sorted(zip(latencies, moves, strict=True), key=lambda x: -x[0])[:SLOWEST]:
        cells = [f"{latency * 1000:7.0f}"] + [
            "      -" if stages[c] is None else f"{stages[c] * 1000:7.0f}" for c in columns
        ]
        print("  " + " ".join(cells))


def without_watch(wc: WordCount) -> None:
    """Takes the splitter pods' watch away: no RoleBinding, and pods restarted so that none still
    holds a watch opened before (an open watch outlives the binding)."""
    rbac = client.RbacAuthorizationV1Api(wc.api)
    rbac.delete_namespaced_role_binding(f"{wc.name}.splitter", wc.namespace)
    old = {name: pod.metadata.uid for name, pod in wc.pods().items() if name.startswith("splitter")}
    for pod in [p for n, p in wc.pods().items() if n in old]:
        wc.core.delete_namespaced_pod(pod.metadata.name, wc.namespace)

    def replaced() -> bool:
        pods = wc.running() or {}
        return all(name in pods and pods[name].metadata.uid != uid for name, uid in old.items())

    wait(replaced, 300, "the splitter pods to come back without a watch", interval=1)


def kubelet_moves(wc: WordCount, rounds: int) -> list[float]:
    """Click to consume through the mounted file: each ConfigMap write moves one partition of
    each pod to the next pod, and each gaining pod is timed."""
    without_watch(wc)
    name, samples = f"{wc.name}.splitter", []
    pods = ["splitter-0", "splitter-1", "splitter-2"]
    for _ in range(rounds):
        data = dict(wc.core.read_namespaced_config_map(name, wc.namespace).data)
        epoch = 1 + max(json.loads(data[f"{pod}.json"])["epoch"] for pod in pods)
        moving = {pods[(i + 1) % 3]: wc.assignment[pod][0] for i, pod in enumerate(pods)}  # gainer: partition
        for i, pod in enumerate(pods):
            kept = [p for p in wc.assignment[pod] if p != moving[pods[(i + 1) % 3]]]
            wc.assignment[pod] = sorted([*kept, moving[pod]])
        live = wc.pods()
        before = {pod: wc.records_in(live[pod], part) for pod, part in moving.items()}
        files = {
            f"{pod}.json": json.dumps({"pod": pod, "partitions": wc.assignment[pod], "epoch": epoch})
            for pod in pods
        }
        started = time.perf_counter()
        wc.core.patch_namespaced_config_map(name, wc.namespace, {"data": files})
        for pod, part in moving.items():
            samples.append(consumed(wc, live[pod], part, before[pod], 240) - started)
        time.sleep(2.0)
    binding = client.RbacAuthorizationV1Api(wc.api).list_namespaced_role_binding(wc.namespace).items
    if any(b.metadata.name == name for b in binding):
        print("warning: the RoleBinding came back during the baseline; its figures may include watches")
    return samples


def on_the_node(args: argparse.Namespace, node: Any, images: Images) -> None:
    images.import_into_node()
    core = client.CoreV1Api(load_api_client(args.kubeconfig))
    namespace = placed_namespace(core, "bench-node")
    wc = WordCount(node, images, namespace, f"bench-{uuid.uuid4().hex[:6]}")
    state_url = node.redis_url.rsplit("/", 1)[0] + "/9"
    create_topics(node.kafka_bootstrap, [wc.lines, wc.words, wc.counts])
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:16379/0")
    control = ControlPlane(Path(tempfile.mkdtemp(prefix="bench-node-")), redis_url, namespace, state_url)
    producer = LineProducer(node.kafka_bootstrap, wc.lines, 6)
    try:
        control.save(wc.manifest())
        settled(wc)
        services = in_process_services(control.env)
        producer.start(make_lines(LINES_PER_SECOND * 1500, 1), LINES_PER_SECOND)
        print(f"phase 2: on the real node {node.name}, word-count fed {LINES_PER_SECOND} lines/s")
        print(f"load average before the moves: {load()}")
        latencies, saves = api_moves(wc, services, args.moves)
        print(f"load average after the moves: {load()}")
        report("API watch: save -> first record of the gained partition", latencies)  # kept if the rest fails
        breakdown(wc, control.log_path, saves, latencies)
        rounds, baseline = args.baseline_rounds, []
        if rounds:  # 0: a quicker run of the API path alone, while working on it
            print(f"kubelet-sync baseline: the watch taken away, {rounds} ConfigMap writes of 3 moves ...")
            baseline = kubelet_moves(wc, rounds)
    finally:
        producer.stop()
        control.stop()
        core.delete_namespace(namespace)
        delete_topics(node.kafka_bootstrap, [wc.lines, wc.words, wc.counts])
        delete_deployment_data(wc.name, node.kafka_bootstrap, state_url)
    report("API watch: save -> first record of the gained partition", latencies)
    if baseline:
        report("baseline, kubelet sync: ConfigMap write -> same", baseline)
    conclude(latencies, baseline)


def load() -> str:
    """The machine's load average (1, 5, 15 min): the figures mean little without it."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def conclude(latencies: list[float], baseline: list[float]) -> None:
    if baseline:
        print(f"ratio baseline / API watch (p50): {pct(baseline, 50) / pct(latencies, 50):.0f}x")
    else:
        print("no baseline measured (--baseline-rounds 0): not a result to report")
    verdict = "met" if pct(latencies, 95) <= TARGET_P95 else "MISSED"
    print(f"target p95 <= {TARGET_P95:.1f} s through the API watch: {verdict}")


def out_of_cluster(args: argparse.Namespace) -> None:
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
    conclude(latencies, baseline)


def main() -> None:
    default = Path(os.environ.get("INVOKER_RUN", Path.home() / ".cache/invoker/run")) / "kube" / "kubeconfig"
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kubeconfig", default=str(default))
    parser.add_argument("--phase", choices=("auto", "1", "2"), default="auto")
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument(
        "--baseline-rounds",
        type=int,
        default=3,
        help="phase 2: ConfigMap writes of 3 moves (0: none, a quicker run of the API path alone)",
    )
    parser.add_argument("--sync-period", type=float, default=60.0, help="phase 1: kubelet syncFrequency (s)")
    args = parser.parse_args()
    if args.phase != "1":
        try:
            node, images = load_node(), Images.load(NODE_IMAGES)
        except MissingError as exc:
            if args.phase == "2":
                raise SystemExit(str(exc)) from None
            print(f"no real node ({exc}): measuring out of cluster")
        else:
            on_the_node(args, node, images)
            return
    out_of_cluster(args)


if __name__ == "__main__":
    main()
