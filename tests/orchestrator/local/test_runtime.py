"""The runtime with real processes: convert's manifests, the project's images mapped to tiny
programs (tests/orchestrator/local/programs.py), sync passes driven by the test."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

from orchestrator.local import LocalBackend
from orchestrator.local.images import REPO_ROOT
from orchestrator.local.runtime import Runtime
from tests.orchestrator.local.helpers import (
    CONFIG_MAP,
    POD,
    POD_1,
    deploy,
    manifest,
    pid_alive,
    pids,
    running,
    status,
    sync_until,
    wait_until,
)


def test_a_pod_runs_its_three_containers_with_the_pods_environment(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    deploy(backend, manifest())
    pod = sync_until(runtime, lambda: running(state_dir, POD), 15, "the pod to run")
    assert set(pids(pod)) == {"udf", "io", "state"}
    env_file = wait_until(lambda: next(Path(pod["socketDir"]).glob("env-*.json"), None), 10, "the udf's env")
    env = json.loads(env_file.read_text())
    assert env["POD_NAME"] == "e-0"
    assert env["KUBERNETES_POD_NAME"] == pod["name"]
    assert env["INVOKER_CONFIG_DIR"] == pod["configDir"]
    assert env["INVOKER_SOCKET_DIR"] == pod["socketDir"]
    assert env["INVOKER_METRICS_PORT"] == str(pod["metricsPort"])
    assert "INVOKER_TEST_MARKER" not in env, "the runtime's own variables stay out of pods"
    assert str(REPO_ROOT) in env["PYTHONPATH"].split(os.pathsep)


def test_each_pod_serves_metrics_on_its_own_port_reported_by_observe(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    name = deploy(backend, manifest(pods={"e-0": [0], "e-1": [1]}))
    sync_until(runtime, lambda: running(state_dir, POD) and running(state_dir, POD_1), 15, "two pods")
    pods = {pod.pod: pod for pod in backend.observe(name).pods}
    assert {pod.phase for pod in pods.values()} == {"Running"}
    assert pods["e-0"].metrics_url != pods["e-1"].metrics_url
    for pod in pods.values():
        text = wait_until(lambda url=pod.metrics_url: _scrape(url), 10, "metrics")
        assert f'test_up{{pod="{pod.pod}"}} 1' in text


def _scrape(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


def test_a_crashing_container_is_restarted_with_growing_back_off_and_counted(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    name = deploy(backend, manifest(executor="test/crasher:1"))
    seen: list[float] = []

    def three_restarts() -> dict | None:
        udf = (status(state_dir, POD) or {}).get("containers", {}).get("udf", {})
        if udf.get("backoffSeconds") and udf["backoffSeconds"] not in seen:
            seen.append(udf["backoffSeconds"])
        return udf if udf.get("restarts", 0) >= 3 and udf["state"] == "waiting" else None

    udf = sync_until(runtime, three_restarts, 20, "three restarts of the udf")
    assert seen[:3] == [0.2, 0.4, 0.8]
    assert udf["lastExitCode"] == 3
    [pod] = backend.observe(name).pods
    assert pod.phase == "CrashLoop"  # the kubelet's CrashLoopBackOff, as a phase of its own
    assert not pod.ready
    assert pod.restarts >= 3
    io_pid = status(state_dir, POD)["containers"]["io"]["pid"]
    assert pid_alive(io_pid)  # a crash restarts that container only


def test_a_config_map_change_reaches_the_pods_files_by_a_data_swap_without_a_restart(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    deploy(backend, manifest(io_address="127.0.0.1:9092"))
    before = sync_until(runtime, lambda: running(state_dir, POD), 15, "the pod to run")
    config = Path(before["configDir"])
    first_version = os.readlink(config / "..data")
    deploy(backend, manifest(io_address="127.0.0.1:9093"))

    def seen_by_the_pod() -> bool:
        seen = [json.loads(p.read_text()) for p in Path(before["socketDir"]).glob("seen-*.json")]
        return bool(seen) and all(s["bootstrapServers"] == "127.0.0.1:9093" for s in seen)

    sync_until(runtime, seen_by_the_pod, 15, "the pod to see the new main.json")
    after = status(state_dir, POD)
    assert pids(after) == pids(before)
    assert after["uid"] == before["uid"]
    assert os.readlink(config / "..data") != first_version
    assert os.readlink(config / "main.json") == "..data/main.json"
    assert not (config / first_version).exists()


def test_a_template_change_replaces_the_pod(backend: LocalBackend, runtime: Runtime, state_dir: Path) -> None:
    deploy(backend, manifest(executor="test/watcher:1"))
    before = sync_until(runtime, lambda: running(state_dir, POD), 15, "the pod to run")
    deploy(backend, manifest(executor="test/watcher:2"))

    def replaced() -> dict | None:
        pod = running(state_dir, POD)
        return pod if pod and pod["uid"] != before["uid"] else None

    after = sync_until(runtime, replaced, 20, "a new pod")
    assert not set(pids(after).values()) & set(pids(before).values())
    assert not any(pid_alive(pid) for pid in pids(before).values())
    assert after["templateHash"] != before["templateHash"]
    assert after["observedGeneration"] == before["observedGeneration"] + 1


def test_deleting_the_deployment_stops_its_processes(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    name = deploy(backend, manifest())
    pod = sync_until(runtime, lambda: running(state_dir, POD), 15, "the pod to run")
    backend.delete_deployment(name)
    sync_until(runtime, lambda: status(state_dir, POD) is None, 15, "the pod to go")
    assert not any(pid_alive(pid) for pid in pids(pod).values())
    assert not Path(pod["socketDir"]).exists()
    assert backend.observe(name).pods == []


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    name = deploy(backend, manifest(state="test/stubborn:1"), grace=1)
    pod = sync_until(runtime, lambda: running(state_dir, POD), 15, "the pod to run")
    wait_until(lambda: list(Path(pod["socketDir"]).glob("stubborn-*")), 10, "the stubborn process to start")
    backend.delete_deployment(name)
    terminating = sync_until(runtime, lambda: status(state_dir, POD), 5, "the terminating status")
    assert terminating["reason"] == "Terminating" or terminating["uid"] == pod["uid"]
    sync_until(runtime, lambda: status(state_dir, POD) is None, 10, "SIGKILL after the grace period")
    assert not pid_alive(pod["containers"]["state"]["pid"])


def test_an_image_without_a_local_command_fails_the_pod_with_a_clear_reason(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    name = deploy(backend, manifest(executor="acme/unknown:1"))
    sync_until(runtime, lambda: status(state_dir, POD), 10, "a status")
    [pod] = backend.observe(name).pods
    assert (pod.phase, pod.ready) == ("Failed", False)
    failed = status(state_dir, POD)
    assert failed["reason"] == "ImageNotRunnable"
    assert "acme/unknown:1" in failed["message"]
    assert all(pid is None for pid in pids(failed).values())


def test_a_pod_waits_in_pending_until_its_config_map_exists(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    deploy(backend, manifest())
    backend.delete("ConfigMap", CONFIG_MAP)
    pending = sync_until(runtime, lambda: status(state_dir, POD), 10, "a status")
    assert (pending["phase"], pending["reason"]) == ("Pending", "ConfigMapNotFound")
    deploy(backend, manifest())
    sync_until(runtime, lambda: running(state_dir, POD), 15, "the pod to run once its ConfigMap exists")


def test_scaling_to_zero_replicas_stops_the_pod(
    backend: LocalBackend, runtime: Runtime, state_dir: Path
) -> None:
    deploy(backend, manifest())
    pod = sync_until(runtime, lambda: running(state_dir, POD), 15, "the pod to run")
    workload = backend.store.read_object("default", "Deployment", POD)
    workload["spec"]["replicas"] = 0
    backend.apply(workload)
    sync_until(runtime, lambda: status(state_dir, POD) is None, 15, "the pod to stop")
    assert not any(pid_alive(pid) for pid in pids(pod).values())
