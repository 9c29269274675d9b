"""Reconcile benchmark against the real kube-apiserver started by ./dev.

Run: ./dev bench orchestrator   (or: python benchmarks/orchestrator_reconcile.py [--help])

Every figure is printed with its baseline, measured in the same run on the same API server:

- **convert** 200 entities x 50 pods (10,000 pods), cold, against ``to_manifest`` of the same
  spec; and a move's reconvert with the per-entity cache. Target: cold <= 60 ms.
- **move**: a reconcile after a partition move (20 entities x 10 pods), p50/p99, against the
  bare writes a move must make, issued directly with the client (server-side apply of the
  entity's ConfigMap and of the root object, and the status patch), in alternating rounds so
  both see the same load. Target: p50 <= 1.5x.
- **no-op**: a reconcile with nothing to do, p50 and its API calls (target: 0), against the 7
  labelled lists one list-based observe would make.
- **save -> ConfigMap**: a move posted to the real REST endpoint (uvicorn) until the ConfigMap
  in the API server holds it, through Redis and a real Celery reconcile worker (private Redis
  DB 12, SQLite, subprocesses), p50/p95, against the same ConfigMap written directly with the
  client. Target: p95 <= 300 ms.
- **resync** of 500 deployments x 10 pods (KWOK's fake node runs the pods): the time of one
  pass over every deployment and the reconcile worker's memory (a subprocess, as the worker
  is), against listing everything once, and against the labelled lists a list-based observe
  makes per deployment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client, watch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.support.stats import pct  # noqa: E402
from invoker_web.websocket_protocol import UVICORN_WS  # noqa: E402
from orchestrator import move_partition, to_manifest  # noqa: E402
from orchestrator.reconciler.convert import (  # noqa: E402
    ConvertCache,
    ConvertContext,
    OwnerRef,
    config_map_name,
    convert,
    entity_config_map,
    root_object,
)
from orchestrator.reconciler.epochs import entity_epochs  # noqa: E402
from orchestrator.reconciler.kube import GROUP, PLURAL, VERSION, KubernetesBackend, load_api_client  # noqa: E402
from orchestrator.reconciler.reconcile import Target, reconcile  # noqa: E402
from orchestrator.spec.model import DeploymentSpec, EntitySpec, PodSpec  # noqa: E402

STATE_URL = "redis://127.0.0.1:16379/0"
BENCH_REDIS_DB = 12
APPLY = {"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"}


# --- figures -------------------------------------------------------------------------------------


def line(label: str, samples: list[float], baseline: list[float] | None = None, qs: tuple = (50, 95)) -> None:
    figures = "   ".join(f"p{q} {pct(samples, q):8.1f} ms" for q in qs)
    text = f"{label:<52} {figures}"
    if baseline:
        text += f"   ratio (p50) {pct(samples, 50) / pct(baseline, 50):5.2f}x"
    print(text, flush=True)


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def cpu_timed(fn: Callable[[], object], rounds: int) -> list[float]:
    """CPU time of the process: on a shared machine, wall time measures the neighbours too."""
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        result = fn()
        samples.append((time.process_time() - started) * 1000)
        del result
    return samples


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


# --- specs and direct writes ---------------------------------------------------------------------


def make_spec(name: str, entities: int, pods: int, partitions_per_pod: int = 2) -> DeploymentSpec:
    def entity(i: int) -> EntitySpec:
        return EntitySpec(
            name=f"e{i}",
            executor_image="invoker/executor-word-count:0.1",
            io_address="127.0.0.1:9092",
            input_topic=f"t{i}",
            output_topic=f"t{i + 1}",
            pods=tuple(
                PodSpec(f"e{i}-p{p}", tuple(range(p * partitions_per_pod, (p + 1) * partitions_per_pod)))
                for p in range(pods)
            ),
        )

    return DeploymentSpec(name, tuple(entity(i) for i in range(entities)))


def moved(spec: DeploymentSpec, i: int) -> DeploymentSpec:
    """The i-th move of a round: a partition of e0 goes to the next pod, and back later."""
    pods = len(spec.entities[0].pods)
    return move_partition(spec, "e0", i % 2, f"e0-p{(i + 1) % pods}")


def server_side_apply(api: client.ApiClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return api.call_api(
        path, "PATCH", query_params=[("fieldManager", "invoker"), ("force", "true")],
        header_params=dict(APPLY), body=body, response_type="object", auth_settings=["BearerToken"],
        _return_http_data_only=True,
    )  # fmt: skip


def object_path(manifest: dict[str, Any], namespace: str) -> str:
    name = manifest["metadata"]["name"]
    return {
        "ConfigMap": f"/api/v1/namespaces/{namespace}/configmaps/{name}",
        "ServiceAccount": f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}",
        "Role": f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/{name}",
        "RoleBinding": f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/{name}",
        "Deployment": f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
        "InvokerDeployment": f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{name}",
    }[manifest["kind"]]


@contextlib.contextmanager
def namespace(api: client.ApiClient, prefix: str) -> Iterator[str]:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    try:
        yield name
    finally:
        client.CoreV1Api(api).delete_namespace(name)


def converge(target: Target, backend: KubernetesBackend, timeout: float = 300) -> None:
    """Measures start from a settled deployment: every pod Running, the status Ready."""
    deadline = time.monotonic() + timeout
    while (result := reconcile(target, backend)).status.get("state") != "Ready" or result.changes:
        if time.monotonic() > deadline:
            raise SystemExit(f"{target.spec.name} did not become Ready in {timeout:.0f}s: {result.status}")
        time.sleep(0.3)


# --- convert ---------------------------------------------------------------------------------------


def bench_convert() -> None:
    print("\n== convert: 200 entities x 50 pods (10,000 pods); CPU time of this process", flush=True)
    spec = make_spec("big", 200, 50)
    epochs = {entity.name: 1 for entity in spec.entities}
    ctx = ConvertContext(namespace="bench", revision="r1", state_url=STATE_URL, epochs=epochs)
    baseline = cpu_timed(lambda: to_manifest(spec), 7)
    cold = cpu_timed(lambda: convert(spec, ctx), 7)
    line("baseline: to_manifest of the same spec", baseline)
    line("convert, cold (target p50 <= 60 ms)", cold, baseline)
    line("  the same, wall time (includes the neighbours' load)", timed(lambda: convert(spec, ctx), 7))
    cache = ConvertCache()
    convert(spec, ctx, cache)
    samples = []
    for i in range(7):
        after = moved(spec, i)
        ctx_i = ConvertContext(
            namespace="bench", revision=f"r{i + 2}", state_url=STATE_URL, epochs={**epochs, "e0": i + 2}
        )
        started = time.process_time()
        convert(after, ctx_i, cache)
        samples.append((time.process_time() - started) * 1000)
    line("convert after a move, with the per-entity cache", samples, baseline)


# --- a move and a no-op ------------------------------------------------------------------------------


class DirectWrites:
    """The writes a move must make, issued directly with the client: the baseline."""

    def __init__(self, api: client.ApiClient, ns: str, backend: KubernetesBackend) -> None:
        self.api, self.ns, self.backend = api, ns, backend
        self.custom = client.CustomObjectsApi(api)

    def move(self, spec: DeploymentSpec, revision: str, number: int) -> float:
        observed = self.backend.observe(spec.name)
        root = observed.root or {}
        owner = OwnerRef(uid=root["metadata"]["uid"], name=spec.name)
        ctx = ConvertContext(
            namespace=self.ns, revision=revision, state_url=STATE_URL,
            epochs=entity_epochs(spec, observed, number), owner=owner,
        )  # fmt: skip
        config_map = entity_config_map(spec, spec.entities[0], ctx)
        root_manifest = root_object(spec, to_manifest(spec)["spec"], self.ns)
        status = {"status": {**(root.get("status") or {}), "currentRevision": revision}}
        started = time.perf_counter()
        written = server_side_apply(self.api, object_path(config_map, self.ns), config_map)
        server_side_apply(self.api, object_path(root_manifest, self.ns), root_manifest)
        self.custom.patch_namespaced_custom_object_status(GROUP, VERSION, self.ns, PLURAL, spec.name, status)
        elapsed = (time.perf_counter() - started) * 1000
        self.wait_cached(config_map["metadata"]["name"], written["metadata"]["resourceVersion"])
        return elapsed

    def wait_cached(self, name: str, version: str) -> None:
        """Lets the reconcile's watch cache catch up with the direct writes (not timed)."""
        deadline = time.monotonic() + 10
        informer = self.backend.cache["ConfigMap"]
        while int((informer.get(name) or {}).get("metadata", {}).get("resourceVersion", 0)) < int(version):
            if time.monotonic() > deadline:
                raise SystemExit("the watch cache did not see a direct write within 10 s")
            time.sleep(0.005)

    def labelled_lists(self, deployment: str) -> None:
        """What a list-based observe read: the root and one labelled list per kind, the pods."""
        selector = f"app.kubernetes.io/instance={deployment}"
        core, apps, rbac = (
            client.CoreV1Api(self.api),
            client.AppsV1Api(self.api),
            client.RbacAuthorizationV1Api(self.api),
        )
        self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.ns, PLURAL, deployment, _preload_content=False
        )
        for call in (
            core.list_namespaced_config_map, core.list_namespaced_service_account, rbac.list_namespaced_role,
            rbac.list_namespaced_role_binding, apps.list_namespaced_deployment, core.list_namespaced_pod,
        ):  # fmt: skip
            json.loads(call(self.ns, label_selector=selector, _preload_content=False).data)


def bench_move_and_noop(api: client.ApiClient, rounds: int) -> None:
    print("\n== a partition move and a no-op, 20 entities x 10 pods", flush=True)
    with namespace(api, "bench-move") as ns:
        backend = KubernetesBackend(api, ns)
        direct = DirectWrites(api, ns, backend)
        try:
            spec, number = make_spec("bench", 20, 10), 1
            first = reconcile(Target(spec, "bench-r1", 1, STATE_URL), backend)
            print(f"initial create: {first.writes} writes, {first.reads} reads in {first.duration_ms:.0f} ms")
            converge(Target(spec, "bench-r1", 1, STATE_URL), backend)
            baseline, moves, calls = [], [], set()
            for i in range(2 * rounds):
                spec, number = moved(spec, i), number + 1
                if i % 2 == 0:
                    baseline.append(direct.move(spec, f"bench-r{number}", number))
                else:
                    result = reconcile(Target(spec, f"bench-r{number}", number, STATE_URL), backend)
                    assert not result.error, result.error
                    moves.append(result.duration_ms)
                    calls.add((result.reads, result.writes, tuple(c.describe() for c in result.changes)))
            line("baseline: the 3 writes of a move, direct", baseline, qs=(50, 99))
            line("reconcile after a move (target p50 <= 1.5x)", moves, baseline, qs=(50, 99))
            for reads, writes, changes in sorted(calls):
                print(f"{'':<52} API calls per move: {reads} reads, {writes} writes; {', '.join(changes)}")

            target = Target(spec, f"bench-r{number}", number, STATE_URL)
            converge(target, backend)
            listing = timed(lambda: direct.labelled_lists("bench"), rounds)
            noops = [reconcile(target, backend) for _ in range(rounds)]
            line("baseline: the 7 reads of a list-based observe", listing)
            line("no-op reconcile", [r.duration_ms for r in noops], listing)
            print(f"{'':<52} API calls per no-op: {sorted({r.reads + r.writes for r in noops})} (target [0])")
        finally:
            backend.close()


# --- save -> ConfigMap through the REST API and a Celery worker ----------------------------------


def private_redis_url() -> str:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:16379/0")
    return f"{url.rsplit('/', 1)[0]}/{BENCH_REDIS_DB}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class App:
    """The web app and a reconcile worker against the kube backend, in subprocesses."""

    def __init__(self, kubeconfig: str, ns: str, base: Path) -> None:
        self.queue = f"bench-reconcile-{uuid.uuid4().hex[:6]}"
        self.port = free_port()
        self.base = base
        self.env = {
            **os.environ,
            "DEBUG": "1",
            "SECRET_KEY": "benchmark-only",
            "DATABASE_URL": f"sqlite:///{base / 'db.sqlite3'}",
            "INVOKER_DATA_DIR": str(base),
            "REDIS_URL": private_redis_url(),
            "INVOKER_BACKEND": "kubernetes",
            "KUBECONFIG": kubeconfig,
            "INVOKER_NAMESPACE": ns,
            "INVOKER_RECONCILE_QUEUE": self.queue,
        }
        self.processes: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"manage.py {args[0]} failed: {done.stderr[-2000:]}")
        return done.stdout

    def start(self) -> str:
        self.manage("migrate", "--noinput")
        token = self.manage("shell", "-c", (
            "from django.contrib.auth.models import Group, User\n"
            "from rest_framework.authtoken.models import Token\n"
            "u = User.objects.create_user('bench'); u.groups.add(Group.objects.get(name='operator'))\n"
            "print(Token.objects.create(user=u).key)"
        )).strip().splitlines()[-1]  # fmt: skip
        self.spawn("reconciler", [sys.executable, "-m", "celery", "-A", "invoker_web", "worker", "--loglevel",
                                  "INFO", "--queues", self.queue, "--concurrency", "1", "--hostname",
                                  f"{self.queue}@%h", "--without-gossip", "--without-mingle"])  # fmt: skip
        self.spawn("web", [sys.executable, "-m", "uvicorn", "invoker_web.asgi:application", "--host",
                           "127.0.0.1", "--port", str(self.port), "--no-access-log",
                           "--ws", UVICORN_WS])  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2).read()
                return token
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the web app did not answer; see {self.base}/web.log") from None
                time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self, name: str, command: list[str]) -> None:
        log = (self.base / f"{name}.log").open("w")
        self.processes.append(
            subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


class ConfigMapEvents:
    """A watch on one ConfigMap from the benchmark: when each content reached the API server."""

    def __init__(self, api: client.ApiClient, ns: str, name: str) -> None:
        self.seen: list[tuple[float, dict[str, str]]] = []
        self._cond = threading.Condition()
        self._watch = watch.Watch()
        args = (client.CoreV1Api(api).list_namespaced_config_map, ns)
        kwargs = {"field_selector": f"metadata.name={name}", "timeout_seconds": 600}
        self._thread = threading.Thread(target=self._run, args=(args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, args: tuple, kwargs: dict) -> None:
        for event in self._watch.stream(*args, **kwargs):
            with self._cond:
                self.seen.append((time.perf_counter(), dict(event["raw_object"].get("data") or {})))
                self._cond.notify_all()

    def wait_for(self, check: Callable[[dict[str, str]], bool], since: float, timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for when, data in self.seen:
                    if when >= since and check(data):
                        return when
                if not self._cond.wait(max(0.0, deadline - time.monotonic())):
                    raise SystemExit("the ConfigMap never showed the move")

    def stop(self) -> None:
        self._watch.stop()


def holds(pod: str, partitions: list[int]) -> Callable[[dict[str, str]], bool]:
    return lambda data: json.loads(data.get(f"{pod}.json", "{}")).get("partitions") == partitions


def bench_save_to_configmap(api: client.ApiClient, kubeconfig: str, rounds: int) -> None:
    print(
        "\n== save -> ConfigMap in the API server: REST API (uvicorn) -> Redis -> Celery worker", flush=True
    )
    manifest = (ROOT / "examples" / "word-count.yaml").read_text()
    with namespace(api, "bench-save") as ns, tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        base = Path(tmp)
        app = App(kubeconfig, ns, base)
        try:
            token = app.start()
            (base / "wc.yaml").write_text(manifest)
            app.manage("import_topology", str(base / "wc.yaml"))
            name = "word-count-demo"
            wait_ready(api, ns, name)
            cm = config_map_name(name, "splitter")
            events = ConfigMapEvents(api, ns, cm)
            core = client.CoreV1Api(api)
            saves, answers, baseline = [], [], []
            layout = {"splitter-0": [0, 1], "splitter-1": [2, 3], "splitter-2": [4, 5]}
            for i in range(rounds):
                partition, pod = i % 2, ("splitter-1" if i % 4 < 2 else "splitter-0")
                for other in layout.values():
                    if partition in other:
                        other.remove(partition)
                layout[pod] = sorted([*layout[pod], partition])
                body = json.dumps({"entity": "splitter", "partition": partition, "to_pod": pod}).encode()
                request = urllib.request.Request(
                    f"{app.url}/api/deployments/{name}/move/", data=body, method="POST",
                    headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
                )  # fmt: skip
                started = time.perf_counter()
                post(request)
                answered = time.perf_counter()
                arrived = events.wait_for(holds(pod, layout[pod]), started)
                saves.append((arrived - started) * 1000)
                answers.append((answered - started) * 1000)
                time.sleep(0.05)  # the worker's trailing status write settles before the next click
                # Baseline: the same ConfigMap written directly with the client, seen by the same watch.
                live = core.read_namespaced_config_map(cm, ns)
                data = dict(live.data)
                data["bench.json"] = str(i)
                started = time.perf_counter()
                core.patch_namespaced_config_map(cm, ns, {"data": {"bench.json": str(i)}})
                arrived = events.wait_for(lambda d, i=i: d.get("bench.json") == str(i), started)
                baseline.append((arrived - started) * 1000)
            events.stop()
            line("baseline: a ConfigMap patch, direct, until watched", baseline)
            line("the REST call alone (its answer)", answers, baseline)
            line("save -> ConfigMap updated (target p95 <= 300 ms)", saves, baseline)
        except SystemExit:
            for log in ("reconciler", "web"):
                print(
                    f"--- the end of {log}.log:\n{(base / f'{log}.log').read_text()[-3000:]}", file=sys.stderr
                )
            raise
        finally:
            app.stop()


def post(request: urllib.request.Request) -> None:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{request.full_url}: {error.code} {error.read().decode()[:500]}") from None


def wait_ready(api: client.ApiClient, ns: str, name: str, timeout: float = 180) -> None:
    custom = client.CustomObjectsApi(api)
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(client.exceptions.ApiException):
            root = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)
            if (root.get("status") or {}).get("state") == "Ready":
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not become Ready in {timeout:.0f}s")
        time.sleep(0.3)


# --- resync of many deployments -----------------------------------------------------------------


def resync_specs(count: int, pods: int) -> list[DeploymentSpec]:
    return [make_spec(f"r{i:03d}", 1, pods) for i in range(count)]


def create_directly(api: client.ApiClient, ns: str, spec: DeploymentSpec, node: str) -> None:
    """Setup, not measured, made to fit in minutes on a small machine: the deployment's objects
    written directly (no dry runs, in threads), its workloads paused (so the controller-manager
    and the scheduler create and place nothing), and one pod per workload, with the labels and
    the template the workload's own pod would have, bound to KWOK's node (which runs it)."""
    root = server_side_apply(
        api, object_path({"kind": "InvokerDeployment", "metadata": {"name": spec.name}}, ns),
        root_object(spec, to_manifest(spec)["spec"], ns),
    )  # fmt: skip
    owner = OwnerRef(uid=root["metadata"]["uid"], name=spec.name)
    ctx = ConvertContext(namespace=ns, revision=f"{spec.name}-r1", state_url=STATE_URL, owner=owner)
    core = client.CoreV1Api(api)
    for manifest in convert(spec, ctx):
        if manifest["kind"] != "Deployment":
            server_side_apply(api, object_path(manifest, ns), manifest)
            continue
        server_side_apply(
            api, object_path(manifest, ns), {**manifest, "spec": {**manifest["spec"], "paused": True}}
        )
        template = manifest["spec"]["template"]
        pod = {
            "metadata": {
                "name": f"{manifest['metadata']['name']}-0",
                "labels": template["metadata"]["labels"],
            },
            "spec": {**template["spec"], "nodeName": node},
        }
        core.create_namespaced_pod(ns, pod, _preload_content=False)


def kwok_node(api: client.ApiClient) -> str:
    nodes = client.CoreV1Api(api).list_node(label_selector="type=kwok").items
    if not nodes:
        raise SystemExit("no KWOK node in the cluster (./dev start kube starts one)")
    return nodes[0].metadata.name


def running_pods(api: client.ApiClient, ns: str) -> int:
    """Pods whose phase is Running (counted page by page: a selector hides the remaining count)."""
    running, token = 0, None
    while True:
        kwargs: dict[str, Any] = {"limit": 1000, "_preload_content": False}
        if token:
            kwargs["_continue"] = token
        page = json.loads(client.CoreV1Api(api).list_namespaced_pod(ns, **kwargs).data)
        running += sum(1 for pod in page["items"] if (pod.get("status") or {}).get("phase") == "Running")
        token = page["metadata"].get("continue")
        if not token:
            return running


def bench_resync(api: client.ApiClient, kubeconfig: str, count: int, pods: int, wait_pods: float) -> None:
    print(f"\n== resync of {count} deployments x {pods} pods (KWOK runs the pods)", flush=True)
    with namespace(api, "bench-resync") as ns:
        specs = resync_specs(count, pods)
        started, node = time.monotonic(), kwok_node(api)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda spec: create_directly(api, ns, spec, node), specs))
        print(
            f"setup: {count} deployments written directly in {time.monotonic() - started:.0f} s", flush=True
        )
        deadline = time.monotonic() + wait_pods
        while (running := running_pods(api, ns)) < count * pods and time.monotonic() < deadline:
            time.sleep(5)
        print(
            f"setup: {running}/{count * pods} pods Running after {time.monotonic() - started:.0f} s",
            flush=True,
        )
        direct = DirectWrites(api, ns, KubernetesBackend(api, ns))
        everything = timed(lambda: relist_everything(api, ns), 3)
        sample = specs[: min(50, count)]
        per_deployment = timed(lambda: [direct.labelled_lists(s.name) for s in sample], 1)[0] / len(sample)
        worker = subprocess.run(
            [sys.executable, __file__, "--resync-worker", kubeconfig, ns, str(count), str(pods)],
            cwd=ROOT, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        if worker.returncode:
            raise SystemExit(f"the resync worker failed: {worker.stderr[-3000:]}")
        report = json.loads(worker.stdout.strip().splitlines()[-1])
        line("baseline: listing everything once (7 kinds, paged)", everything)
        print(
            f"{'baseline: list-based observe of every deployment':<52} {per_deployment * count:8.0f} ms"
            f"   ({per_deployment:.1f} ms x {count}, measured on {len(sample)}; {7 * count} API reads)"
        )
        label = "worker: initial sync of its watch cache"
        print(f"{label:<52} {report['sync_ms']:8.0f} ms   ({report['lists']} lists)")
        for key, label in (("first", "first resync (writes the statuses)"), ("steady", "steady resync")):
            ms, calls = report[key]["ms"], report[key]["calls"]
            ratios = (
                f"{ms / (per_deployment * count):5.2f}x, to listing once {ms / pct(everything, 50):5.2f}x"
            )
            print(f"{'worker: ' + label:<52} {ms:8.0f} ms   {calls} API calls   ratio to list-based {ratios}")
        print(
            f"{'worker memory (RSS)':<52} {report['rss_before_mb']:.0f} MiB before the cache, "
            f"{report['rss_after_mb']:.0f} MiB after the resyncs (max {report['max_rss_mb']:.0f} MiB); "
            f"cache holds {report['objects']} objects and {report['pods']} pods"
        )


def relist_everything(api: client.ApiClient, ns: str) -> None:
    backend = KubernetesBackend(api, ns)
    for source in backend._sources():
        token = None
        while True:
            kwargs: dict[str, Any] = {"label_selector": "app.kubernetes.io/name=invoker", "limit": 500}
            if token:
                kwargs["_continue"] = token
            page = json.loads(source.list_call(*source.args, _preload_content=False, **kwargs).data)
            token = page["metadata"].get("continue")
            if not token:
                break


def resync_worker(kubeconfig: str, ns: str, count: int, pods: int) -> None:
    """The reconcile worker's side of the resync, in its own process: memory is its own."""
    rss_before = rss_mb()
    api = load_api_client(kubeconfig)
    backend = KubernetesBackend(api, ns)
    specs = resync_specs(count, pods)
    started = time.perf_counter()
    backend.observe(specs[0].name)
    sync_ms = (time.perf_counter() - started) * 1000
    passes = {}
    for key in ("first", "steady"):
        calls, started = 0, time.perf_counter()
        for spec in specs:
            result = reconcile(Target(spec, f"{spec.name}-r1", 1, STATE_URL), backend)
            if result.error:
                raise SystemExit(f"{spec.name}: {result.error}")
            calls += result.reads + result.writes
        passes[key] = {"ms": (time.perf_counter() - started) * 1000, "calls": calls}
    cache = backend.cache
    report = {
        "sync_ms": sync_ms,
        "lists": cache.list_calls(),
        **passes,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_mb(),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "objects": sum(len(i.names()) for kind, i in cache.informers.items() if kind != "Pod"),
        "pods": len(cache["Pod"].names()),
    }
    backend.close()
    print(json.dumps(report))


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--resync-worker":
        kubeconfig, ns, count, pods = sys.argv[2:6]
        resync_worker(kubeconfig, ns, int(count), int(pods))
        return
    default = Path(os.environ.get("INVOKER_RUN", Path.home() / ".cache/invoker/run")) / "kube" / "kubeconfig"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", default=str(default))
    parser.add_argument("--rounds", type=int, default=30, help="samples per figure (default 30)")
    parser.add_argument("--resync-deployments", type=int, default=500)
    parser.add_argument("--resync-pods", type=int, default=10, help="pods per deployment in the resync")
    parser.add_argument("--resync-wait", type=float, default=300, help="seconds to wait for the pods to run")
    parser.add_argument("--only", choices=["convert", "move", "save", "resync"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["convert", "move", "save", "resync"])
    print(f"machine: {load()}", flush=True)
    api = load_api_client(args.kubeconfig)
    if "convert" in only:
        bench_convert()
    if "move" in only:
        bench_move_and_noop(api, args.rounds)
    if "save" in only:
        bench_save_to_configmap(api, args.kubeconfig, args.rounds)
    if "resync" in only:
        bench_resync(api, args.kubeconfig, args.resync_deployments, args.resync_pods, args.resync_wait)
    print(f"\nmachine at the end: {load()}")


if __name__ == "__main__":
    main()
