"""The word-count sample on the real node, driven the way a user drives it: saves go through the
services into a database, a real Celery worker reconciles them through the kubernetes backend,
and the kubelet runs the pods from the images built here. Shared by
tests/integration/test_real_node_e2e.py and benchmarks/kube_move_latency.py.

- The node and its Kafka broker and Redis: $INVOKER_RUN/node/env (docs/kubernetes-node.md).
- The images: $INVOKER_CACHE/images/images.json (docs/images.md), imported into the node's
  containerd once.
- Placement: the namespace's annotations send every pod created in it to the real node
  (PodNodeSelector, PodTolerationRestriction), so the orchestrator's manifests stay as they are.
- The control plane: a SQLite database and a Celery worker of their own (as
  tests/jobs/test_coalescing_worker.py does), with INVOKER_BACKEND=kubernetes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kubernetes import client, config

from orchestrator.planning.placement import Placement
from tests.integration.test_real_node import RealNode

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path(os.environ.get("INVOKER_RUN", Path.home() / ".cache/invoker/run"))
CACHE_DIR = Path(os.environ.get("INVOKER_CACHE", Path.home() / ".cache/invoker"))
NODE_ENV = RUN_DIR / "node" / "env"
IMAGES_JSON = CACHE_DIR / "images" / "images.json"
EXAMPLE = ROOT / "examples" / "word-count.yaml"
PARTITIONS = 6
#: Every pod created in a namespace with these annotations gets the real node's placement.
#: The orchestrator's placement settings that put the executor pods on the real node (labelled
#: and tainted by scripts/services/node.sh; the KWOK node runs nothing).
NODE_PLACEMENT = {
    "INVOKER_POD_NODE_SELECTOR": "invoker.io/node=real",
    "INVOKER_POD_TOLERATIONS": "invoker.io/node:NoSchedule",
}
METRIC_LINE = re.compile(r"^(\w+)\{([^}]*)\} ([0-9.eE+-]+)$")


class MissingError(RuntimeError):
    """The node, an image or a service is not there: the caller fails (tests) or exits (benchmarks)."""


def kubeconfig() -> str:
    return os.environ.get("INVOKER_TEST_KUBECONFIG", str(RUN_DIR / "kube" / "kubeconfig"))


def load_node() -> RealNode:
    if not NODE_ENV.exists():
        raise MissingError(
            f"{NODE_ENV} is missing: the real node is not running; start it with `./dev start kube`"
        )
    node = RealNode.from_env_file(NODE_ENV)
    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig()))
    conditions = core.read_node(node.name).status.conditions or []
    if not any(c.type == "Ready" and c.status == "True" for c in conditions):
        raise MissingError(f"node {node.name} is not Ready; `./dev start kube` starts and checks it")
    return node


def node_containerd() -> list[str]:
    env = dict(
        line.split("=", 1) for line in NODE_ENV.read_text().splitlines() if "=" in line and line[0] != "#"
    )
    return ["ctr", "--address", env["INVOKER_NODE_CONTAINERD_ADDRESS"], "--namespace", "k8s.io"]


@dataclass(frozen=True)
class Images:
    """The project's images as `./dev images` built them, by name: ref and archive."""

    refs: dict[str, str]
    archives: dict[str, str]

    @classmethod
    def load(cls, names: tuple[str, ...]) -> Images:
        if not IMAGES_JSON.exists():
            raise MissingError(f"{IMAGES_JSON} is missing: build the images with `./dev images`")
        images = json.loads(IMAGES_JSON.read_text())["images"]
        absent = [n for n in names if n not in images or not Path(images[n]["archive"]).exists()]
        if absent:
            raise MissingError(f"images {absent} are not built: run `./dev images`")
        return cls({n: images[n]["ref"] for n in names}, {n: images[n]["archive"] for n in names})

    def import_into_node(self) -> None:
        """Imports each image the node's containerd does not have yet (never pulled: no registry)."""
        present = set(_run([*node_containerd(), "images", "ls", "-q"]).split())
        for name, ref in self.refs.items():
            if ref not in present:
                _run([*node_containerd(), "images", "import", self.archives[name]], timeout=600)

    def tag(self, name: str, tag: str) -> str:
        """Another reference to the same image: a pod template change without a new build."""
        source = self.refs[name]
        target = f"{source.rsplit(':', 1)[0]}:{tag}"
        present = set(_run([*node_containerd(), "images", "ls", "-q"]).split())
        if target not in present:
            _run([*node_containerd(), "images", "tag", source, target])
        return target


def _run(argv: list[str], timeout: float = 120, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:4])} ... failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        )
    return done.stdout


def placed_on_node(pod_spec: dict[str, Any]) -> dict[str, Any]:
    """``pod_spec`` with the real node's placement: for a pod a test creates itself (the
    orchestrator's pods get it from NODE_PLACEMENT, through the kubernetes backend)."""
    template = {"kind": "Deployment", "spec": {"template": {"spec": pod_spec}}}
    return Placement.from_environ(NODE_PLACEMENT).applied(template)["spec"]["template"]["spec"]


def placed_namespace(core: client.CoreV1Api, prefix: str) -> str:
    """A namespace for a run on the real node (its pods are placed by the orchestrator's
    placement settings, NODE_PLACEMENT); ready once its default account exists."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})
    wait(
        lambda: _exists(lambda: core.read_namespaced_service_account("default", name)),
        60,
        "the default account",
    )
    return name


@contextlib.contextmanager
def busybox_pod(
    api: client.ApiClient, prefix: str, pod: str, labels: dict[str, str], commands: dict[str, str]
) -> Iterator[str]:
    """A namespace of its own holding one pod on the real node, one busybox container per entry of
    ``commands`` (container name -> shell command), deleted on exit: for tests that read what a
    real container prints. Yields the namespace; fails, never skips, without the real node."""
    try:
        node = load_node()
    except MissingError as exc:
        pytest.fail(str(exc))
    core = client.CoreV1Api(api)
    namespace = placed_namespace(core, prefix)
    containers = [
        {
            "name": name,
            "image": node.busybox_image,
            "imagePullPolicy": "Never",
            "command": ["sh", "-c", command],
        }
        for name, command in commands.items()
    ]
    spec = placed_on_node({"containers": containers, "terminationGracePeriodSeconds": 0})
    core.create_namespaced_pod(namespace, {"metadata": {"name": pod, "labels": labels}, "spec": spec})
    try:
        yield namespace
    finally:
        core.delete_namespace(namespace)


def _exists(read: Callable[[], Any]) -> bool:
    try:
        read()
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def wait(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
    try:
        for name in names:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        admin.close()


def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
    try:
        admin.delete_topics(names)
    except KafkaError:
        pass  # best effort: the next run uses other names
    finally:
        admin.close()


class ControlPlane:
    """A database and a Celery worker that reconciles through the kubernetes backend."""

    def __init__(self, base: Path, redis_url: str, namespace: str, state_url: str) -> None:
        queue = f"e2e-reconcile-{uuid.uuid4().hex[:8]}"
        self.hostname = f"{queue}@localhost"
        self.database = base / "db.sqlite3"
        self.env = {
            # What ./dev and the tests export for development; a caller's own values win.
            "DEBUG": "1",
            "SECRET_KEY": "django-insecure-real-node-harness-only",
            **os.environ,
            "REDIS_URL": redis_url,
            "DATABASE_URL": f"sqlite:///{self.database}",
            "INVOKER_BACKEND": "kubernetes",
            "KUBECONFIG": kubeconfig(),
            "INVOKER_NAMESPACE": namespace,
            "INVOKER_STATE_REDIS_URL": state_url,
            "INVOKER_RECONCILE_QUEUE": queue,
            **NODE_PLACEMENT,
        }
        self.manage("migrate", "--noinput")
        self.log_path = base / "worker.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "invoker_web", "worker", "--pool", "solo", "-Q", queue,
             "--hostname", self.hostname, "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def manage(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, input=stdin,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def save(self, manifest: dict[str, Any]) -> str:
        """Creates or updates the deployment through the services, as the dashboard's API does;
        the change queues a reconcile for the worker."""
        return self.manage("import_topology", "-", stdin=yaml.safe_dump(manifest, sort_keys=False))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


class WordCount:
    """The example's two entities with this run's names, images, broker and topics."""

    def __init__(self, node: RealNode, images: Images, namespace: str, name: str) -> None:
        self.node, self.images, self.namespace, self.name = node, images, namespace, name
        self.lines, self.words, self.counts = f"{name}-lines", f"{name}-words", f"{name}-counts"
        self.api = config.new_client_from_config(config_file=kubeconfig())
        self.core, self.apps = client.CoreV1Api(self.api), client.AppsV1Api(self.api)
        self.assignment = {"splitter-0": [0, 1], "splitter-1": [2, 3], "splitter-2": [4, 5]}
        self.splitter_image = images.refs["executor-word-count"]

    def manifest(self) -> dict[str, Any]:
        manifest = yaml.safe_load(EXAMPLE.read_text())
        manifest["metadata"]["name"] = self.name
        splitter, totals = manifest["spec"]["statefulEntities"]
        for entity, image, source, sink in (
            (splitter, self.splitter_image, self.lines, self.words),
            (totals, self.images.refs["executor-sum"], self.words, self.counts),
        ):
            entity.update(
                executorImage=image,
                ioImage=self.images.refs["io-sidecar"],
                stateImage=self.images.refs["state-sidecar"],
                ioAddress=self.node.kafka_bootstrap,
                inputTopic=source,
                outputTopic=sink,
            )
        for pod in splitter["pods"]:
            pod["partitions"] = [str(p) for p in self.assignment[pod["name"]]]
        return manifest

    # --- what runs --------------------------------------------------------------------------
    def pods(self) -> dict[str, client.V1Pod]:
        """Spec pod name → its live pod (not being deleted)."""
        found = self.core.list_namespaced_pod(
            self.namespace, label_selector=f"app.kubernetes.io/instance={self.name}"
        )
        return {
            p.metadata.labels["invoker.io/pod"]: p
            for p in found.items
            if p.metadata.deletion_timestamp is None
        }

    def running(self) -> dict[str, client.V1Pod] | None:
        """All four pods on the real node with their three containers ready, else None."""
        pods = self.pods()
        if sorted(pods) != ["splitter-0", "splitter-1", "splitter-2", "totals-0"]:
            return None
        for pod in pods.values():
            statuses = pod.status.container_statuses or []
            if (
                pod.spec.node_name != self.node.name
                or len(statuses) != 3
                or not all(s.ready for s in statuses)
            ):
                return None
        return pods

    def root_state(self) -> str | None:
        custom = client.CustomObjectsApi(self.api)
        try:
            root = custom.get_namespaced_custom_object(
                "invokeroperator.invoker.io", "v1alpha1", self.namespace, "invokerdeployments", self.name
            )
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return (root.get("status") or {}).get("state")

    def metrics(self, pod: client.V1Pod) -> dict[tuple[str, str], float]:
        """The io sidecar's metrics, fetched from the pod's address (the host is on the bridge)."""
        url = f"http://{pod.status.pod_ip}:9400/metrics"
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode()
        samples = {}
        for line in text.splitlines():
            match = METRIC_LINE.match(line)
            if match:
                samples[(match.group(1), match.group(2))] = float(match.group(3))
        return samples

    def records_in(self, pod: client.V1Pod, partition: int) -> float:
        try:
            samples = self.metrics(pod)
        except OSError:
            return 0.0
        return samples.get(("invoker_records_in_total", f'partition="{partition}"'), 0.0)

    def restarts(self) -> dict[tuple[str, str], int]:
        return {
            (name, s.name): s.restart_count
            for name, pod in self.pods().items()
            for s in pod.status.container_statuses or []
        }
