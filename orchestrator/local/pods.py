"""A Deployment's one pod as the local runtime runs it: three containers sharing a pod's
environment, and the status file that reports it the way the Kubernetes API reports a pod.

Container paths of the manifest (``/etc/invoker``, ``/var/run/invoker``, port 9400) mean
nothing on a shared machine, so the pod's environment points at local ones instead: the
ConfigMap's materialised directory, a private socket directory and a metrics port of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.local.images import REPO_ROOT, ImageMap, ImageNotRunnableError
from orchestrator.local.process import Backoff, Container, inherited_env
from orchestrator.local.store import StateDir, template_hash
from orchestrator.reconciler.convert import LABEL_ENTITY, LABEL_INSTANCE, LABEL_POD
from podcontract import env as names
from podcontract.volume import DATA_LINK

_LABEL_REF_RE = re.compile(r"metadata\.labels\['([^']+)'\]")
DEFAULT_GRACE_SECONDS = 30.0
#: Without readiness probes a container is ready once it runs; a second's wait keeps a crash loop
#: (whose process lives a few milliseconds per attempt) from ever looking ready.
READY_SECONDS = 1.0


@dataclass
class LocalPod:
    """One pod: its identity, its containers, and whether it is starting, running or stopping."""

    namespace: str
    deployment: str
    name: str
    uid: str
    labels: dict[str, str]
    template_hash: str
    generation: int | None
    grace: float
    metrics_port: int
    socket_dir: Path
    log_dir: Path
    config_dir: Path | None
    containers: list[Container] = field(default_factory=list)
    failure: tuple[str, str] | None = None
    started_at: str | None = None
    deadline: float | None = None

    def can_start(self) -> bool:
        """The kubelet's rule: containers start once every volume can be mounted."""
        return self.config_dir is None or (self.config_dir / DATA_LINK).exists()

    def start(self, backoff: Backoff) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for container in self.containers:
            container.start(backoff)

    def supervise(self, backoff: Backoff) -> None:
        if self.started_at and self.deadline is None:
            for container in self.containers:
                container.supervise(backoff)

    def terminate(self) -> None:
        """SIGTERM to every container at once, as Kubernetes does; SIGKILL after the grace period."""
        if self.deadline is None:
            self.deadline = time.monotonic() + self.grace
            for container in self.containers:
                container.signal(signal.SIGTERM)

    def terminated(self) -> bool:
        """True once every process has exited (the socket directory is then removed)."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            for container in self.containers:
                container.signal(signal.SIGKILL)
        if not all([container.stopped() for container in self.containers]):
            return False
        shutil.rmtree(self.socket_dir, ignore_errors=True)
        return True

    def phase(self) -> tuple[str, str | None, str | None]:
        """(phase, reason, message); Running once every container has started at least once."""
        if self.failure:
            return "Failed", *self.failure
        if self.deadline is not None:
            return "Running", "Terminating", None
        if not self.started_at and not self.can_start():
            return "Pending", "ConfigMapNotFound", f"waiting for the ConfigMap mounted from {self.config_dir}"
        if not self.started_at:
            return "Pending", "ContainerCreating", None
        looping = next((c for c in self.containers if c.crash_looping), None)
        if looping is not None:  # the kubelet's CrashLoopBackOff, with the line that says why
            return "CrashLoop", "CrashLoopBackOff", looping.crash_message()
        for container in self.containers:  # alive but unable to work: not Ready, and why
            if error := container.startup_failure():
                return "Failed", "StartupFailing", f"container {container.name}: {error}"
        return "Running", None, None

    def status(self) -> dict[str, Any]:
        phase, reason, message = self.phase()
        ready = (
            phase == "Running"
            and reason is None
            and all(c.up_for() >= READY_SECONDS and c.announced for c in self.containers)
        )
        return {
            "name": self.name,
            "uid": self.uid,
            "namespace": self.namespace,
            "deployment": self.deployment,
            "instance": self.labels.get(LABEL_INSTANCE),
            "entity": self.labels.get(LABEL_ENTITY),
            "pod": self.labels.get(LABEL_POD),
            "phase": phase,
            "reason": reason,
            "message": message,
            "ready": ready,
            "restarts": sum(c.restarts for c in self.containers),
            "metricsPort": self.metrics_port,
            "metricsUrl": f"http://127.0.0.1:{self.metrics_port}/metrics",
            "templateHash": self.template_hash,
            "observedGeneration": self.generation,
            "startedAt": self.started_at,
            "configDir": str(self.config_dir) if self.config_dir else None,
            "socketDir": str(self.socket_dir),
            "logDir": str(self.log_dir),
            "containers": {c.name: c.status() for c in self.containers},
        }


def build_pod(
    store: StateDir,
    namespace: str,
    workload: dict[str, Any],
    images: ImageMap,
    metrics_port: int,
    base_env: Mapping[str, str],
) -> LocalPod:
    """A new pod (new uid) of ``workload``; ``failure`` is set when an image has no local command."""
    template = workload["spec"]["template"]
    spec, deployment, uid = template.get("spec", {}), workload["metadata"]["name"], str(uuid.uuid4())
    labels = {**workload["metadata"].get("labels", {}), **template.get("metadata", {}).get("labels", {})}
    digest = template_hash(template)
    config_map = next((v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v), None)
    pod = LocalPod(
        namespace=namespace,
        deployment=deployment,
        name=f"{deployment}-{digest[:10]}-{uid[:5]}",
        uid=uid,
        labels=labels,
        template_hash=digest,
        generation=workload["metadata"].get("generation"),
        grace=float(spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)),
        metrics_port=metrics_port,
        socket_dir=store.socket_dir(uid),
        log_dir=store.log_dir(namespace, deployment),
        config_dir=store.config_map_dir(namespace, config_map) if config_map else None,
    )
    try:
        pod.containers = [_container(pod, c, images, base_env) for c in spec.get("containers", [])]
    except ImageNotRunnableError as exc:
        pod.failure = ("ImageNotRunnable", str(exc))
    return pod


def _container(
    pod: LocalPod, manifest: dict[str, Any], images: ImageMap, base_env: Mapping[str, str]
) -> Container:
    command = images.resolve(manifest.get("image", ""))
    env = {**inherited_env(base_env), **command.env, **_manifest_env(pod, manifest), **pod_env(pod)}
    # The executor stays importable when a user's command runs from its own directory.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(REPO_ROOT)) if p)
    argv = [*command.argv, *manifest.get("args", [])]
    log = pod.log_dir / f"{manifest['name']}.log"
    return Container(manifest["name"], argv, env, command.cwd, log, ready_line=command.ready_line)


def pod_env(pod: LocalPod) -> dict[str, str]:
    """What the executor reads (the pod contract's names), pointing at this pod's local places."""
    env = {
        names.POD_NAME: pod.labels.get(LABEL_POD, pod.name),
        names.SOCKET_DIR_ENV: str(pod.socket_dir),
        names.METRICS_PORT_ENV: str(pod.metrics_port),
    }
    if pod.config_dir is not None:
        env[names.CONFIG_DIR_ENV] = str(pod.config_dir)
    return env


def _manifest_env(pod: LocalPod, manifest: dict[str, Any]) -> dict[str, str]:
    """Literal values, and the downward API's field references a local pod can answer."""
    env: dict[str, str] = {}
    for item in manifest.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif "fieldRef" in item.get("valueFrom", {}):
            env[item["name"]] = _field_ref(pod, item["valueFrom"]["fieldRef"].get("fieldPath", ""))
    return env


def _field_ref(pod: LocalPod, path: str) -> str:
    fields = {"metadata.name": pod.name, "metadata.namespace": pod.namespace, "metadata.uid": pod.uid}
    label = _LABEL_REF_RE.fullmatch(path)
    return pod.labels.get(label.group(1), "") if label else fields.get(path, "")
