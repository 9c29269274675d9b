"""Health with reasons from the local runtime: a pod whose command fails is CrashLoop with the
line that says why and its restart count, and a deployment whose io sidecars loop on a missing
output topic (the case that fooled a new user) is never Ready and names the topic.

The first two run tiny real programs; the last runs the project's real images against the real
broker and Redis."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from orchestrator import parse_deployment
from orchestrator.local import LocalBackend
from orchestrator.local.images import load_image_map
from orchestrator.local.process import last_log_line, startup_error
from orchestrator.local.runtime import Runtime
from orchestrator.reconciler.convert import ConvertContext, OwnerRef, convert, root_object
from orchestrator.reconciler.reconcile import ReconcileResult, Target, reconcile
from orchestrator.reconciler.status import Outcome, derive_status
from orchestrator.spec.model import DeploymentSpec
from tests.kafka_topics import settles_to
from tests.orchestrator.local.conftest import TEST_BACKOFF
from tests.orchestrator.local.helpers import TEST_IMAGES, RuntimeProcess, manifest, sync_until, wait_until

FAILING_UDF = (
    "import sys; print('starting', flush=True); "
    "print('ValueError: no such model: wc', file=sys.stderr); sys.exit(2)"
)
IMAGES = {**TEST_IMAGES, "test/failing": [sys.executable, "-c", FAILING_UDF]}
REAL = {
    "executor": "invoker/executor-word-count:0.1",
    "io": "invoker/io-sidecar:0.1",
    "state": "invoker/state-sidecar:0.1",
}


@pytest.fixture
def health_runtime(state_dir: Path) -> Iterator[Runtime]:
    runtime = Runtime(state_dir, load_image_map([json.dumps(IMAGES)]), TEST_BACKOFF, env=dict(os.environ))
    runtime.reset()
    yield runtime
    runtime.shutdown()


def _log_tails(state_dir: Path) -> str:
    """The end of every container log under the state directory, for a failure's message."""
    return "\n".join(f"== {p}\n{p.read_text(errors='replace')[-1500:]}" for p in state_dir.rglob("*.log"))


def _target(source: dict[str, Any], redis_url: str = "redis://127.0.0.1:16379/0") -> Target:
    return Target(parse_deployment(source), "rev-1", 1, redis_url, manage_topics=False)


def test_a_pod_whose_command_fails_is_crash_loop_with_the_reason_and_restart_count(
    backend: LocalBackend, health_runtime: Runtime
) -> None:
    source = manifest(executor="test/failing:1")

    phases: list[str] = []

    def looping() -> ReconcileResult | None:
        result = reconcile(_target(source), backend)
        assert result.status["state"] != "Ready", result.status
        pods = backend.observe("demo").pods
        phases.extend(pod.phase for pod in pods)
        return result if pods and pods[0].phase == "CrashLoop" and pods[0].restarts >= 2 else None

    result = sync_until(health_runtime, looping, 30, "the pod to crash-loop twice")
    crashed = phases[phases.index("CrashLoop") :]
    assert set(crashed) == {"CrashLoop"}, crashed  # never back to Running between two crashes
    [pod] = backend.observe("demo").pods
    assert (pod.phase, pod.reason, pod.ready) == ("CrashLoop", "CrashLoopBackOff", False)
    assert pod.message == "container udf exited with code 2: ValueError: no such model: wc"
    assert result.status["state"] == "Degraded"
    ready = result.status["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "PodsFailing")
    assert ready["message"] == f"1/1 pods failing: CrashLoopBackOff: {pod.message} (1 pod)"
    assert result.status["components"]["podPhases"] == {"CrashLoop": 1}
    assert result.status["components"]["entities"]["e"]["state"] == "Degraded"


def test_a_pod_whose_image_cannot_run_is_failed_with_the_reason(
    backend: LocalBackend, health_runtime: Runtime
) -> None:
    source = manifest(executor="nowhere/executor:0.1")

    def failed() -> ReconcileResult | None:
        result = reconcile(_target(source), backend)
        pods = backend.observe("demo").pods
        return result if pods and pods[0].phase == "Failed" else None

    result = sync_until(health_runtime, failed, 20, "the pod to fail")
    [pod] = backend.observe("demo").pods
    assert pod.reason == "ImageNotRunnable"
    assert "nowhere/executor:0.1" in (pod.message or "")
    assert result.status["state"] == "Degraded"
    assert result.status["conditions"][0]["message"].startswith("1/1 pods failing: ImageNotRunnable: ")


def test_a_deployment_whose_output_topic_does_not_exist_is_never_ready_and_names_the_topic(
    kafka_bootstrap: str,
    suffix: str,
    admin: KafkaAdminClient,
    redis_url: str,
    state_dir: Path,
    start_runtime: Callable[..., RuntimeProcess],
) -> None:
    source = manifest(pods={"e-0": [0, 1]}, io_address=kafka_bootstrap, **REAL)
    entity = source["spec"]["statefulEntities"][0]
    entity.update(inputTopic=f"in-{suffix}", outputTopic=f"out-{suffix}", inputPartitions=2)
    admin.create_topics([NewTopic(f"in-{suffix}", 2, 1)])  # the input exists, the output does not
    settles_to(admin, {f"in-{suffix}": 2, f"out-{suffix}": None})
    backend = LocalBackend(state_dir)
    runtime = start_runtime(images=None, env={"INVOKER_LOCAL_IMAGES": "", "REDIS_URL": redis_url})
    spec = _apply_without_output_partitions(backend, source, redis_url)  # the sidecar cannot create it
    statuses: list[dict[str, Any]] = []

    def stuck() -> dict[str, Any] | None:
        observed = backend.observe("demo")
        statuses.append(derive_status(spec, "rev-1", observed, Outcome(), statuses[-1] if statuses else None))
        assert statuses[-1]["state"] != "Ready", statuses[-1]  # never, at any point
        pods = observed.pods
        return statuses[-1] if pods and pods[0].reason == "StartupFailing" else None

    try:
        status = wait_until(stuck, 90, "the io sidecar to report the missing topic")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_log_tails(state_dir)}\n{runtime.output()[-3000:]}") from None
    [pod] = backend.observe("demo").pods
    assert (pod.phase, pod.ready) == ("Failed", False)
    assert pod.message is not None
    assert pod.message.startswith(f"container io: KafkaError: output topic 'out-{suffix}' does not exist")
    ready = status["conditions"][0]
    assert (status["state"], ready["reason"]) == ("Degraded", "PodsFailing")
    assert f"output topic 'out-{suffix}' does not exist" in ready["message"]
    assert status["components"]["topReasons"][0]["reason"] == "StartupFailing"
    assert len(statuses) > 1


def _apply_without_output_partitions(
    backend: LocalBackend, source: dict[str, Any], redis_url: str
) -> DeploymentSpec:
    """The manifests as a control plane without the topics phase made them: no ``outputPartitions``,
    so the io sidecar may not create the output topic and can only retry."""
    spec = parse_deployment(source)
    root = backend.ensure_root(root_object(spec, source["spec"], backend.namespace))
    owner = OwnerRef(uid=root["metadata"]["uid"], name=spec.name)
    for item in convert(spec, ConvertContext(backend.namespace, "rev-1", redis_url, {"e": 1}, owner)):
        backend.apply(item)
    return spec


def test_the_reason_is_the_last_line_that_says_why_without_its_time_stamp(tmp_path: Path) -> None:
    log = tmp_path / "udf.log"
    log.write_text(
        "2026-12-06 08:28:05,027 e-0/udf INFO __main__: serving\n"
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "ValueError: no such model: wc\n\n"
    )
    assert last_log_line(log) == "ValueError: no such model: wc"
    log.write_text("2026-12-06 08:28:05,663 e-0/io ERROR executor.io: cannot reach the broker\n")
    assert last_log_line(log) == "e-0/io ERROR executor.io: cannot reach the broker"
    assert last_log_line(tmp_path / "absent.log") is None
    line = (
        "2026-12-06 08:28:05,663 e-0/io WARNING __main__: start-up step failed (KafkaError: gone); retrying"
    )
    assert startup_error(line) == "KafkaError: gone"
    assert startup_error("2026-12-06 08:28:05,663 e-0/io INFO __main__: running demo/e") is None
