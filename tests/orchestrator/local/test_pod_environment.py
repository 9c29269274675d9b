"""A local pod's processes see only the pod contract's variables and a few basics, never the
control plane's settings that the runtime itself was started with."""

from __future__ import annotations

import json
import re
from pathlib import Path

from orchestrator.local import LocalBackend
from orchestrator.local.images import load_image_map
from orchestrator.local.process import INHERITED_ENV, inherited_env
from orchestrator.local.runtime import Runtime
from tests.orchestrator.local.conftest import TEST_BACKOFF
from tests.orchestrator.local.helpers import POD, TEST_IMAGES, deploy, manifest, pids, running, sync_until

ROOT = Path(__file__).resolve().parents[3]
CONTROL_PLANE = {
    "REDIS_URL": "redis://:control-plane-password@127.0.0.1:16379/0",
    "DATABASE_URL": "postgres://invoker:db-password@127.0.0.1:15432/invoker",
    "SECRET_KEY": "the-dashboards-secret-key",
    "KUBECONFIG": "/root/.kube/config",
    "CELERY_BROKER_URL": "redis://:control-plane-password@127.0.0.1:16379/1",
    "AWS_SECRET_ACCESS_KEY": "anything-else-the-runtime-happens-to-have",
}


def _proc_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_a_local_pods_processes_get_none_of_the_runtimes_secrets(state_dir: Path) -> None:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", **CONTROL_PLANE}
    base |= {"INVOKER_BATCH_MAX_MS": "25", "LC_ALL": "C.UTF-8"}
    runtime = Runtime(state_dir, load_image_map([json.dumps(TEST_IMAGES)]), TEST_BACKOFF, env=base)
    runtime.reset()
    try:
        deploy(LocalBackend(state_dir), manifest())
        pod = sync_until(runtime, lambda: running(state_dir, POD), 15, "the pod to run")
        for container, pid in pids(pod).items():
            environ = _proc_environ(pid)
            leaked = sorted(set(CONTROL_PLANE) & set(environ))
            assert not leaked, f"{container} (pid {pid}) inherited {leaked}"
            assert environ["POD_NAME"] == "e-0"
            assert environ["INVOKER_BATCH_MAX_MS"] == "25", "the contract's tuning knobs pass through"
            assert (environ["PATH"], environ["LC_ALL"]) == ("/usr/bin:/bin", "C.UTF-8")
    finally:
        runtime.shutdown()


def test_the_inherited_names_are_the_basics_and_no_more() -> None:
    environ = {"PATH": "/bin", "LC_CTYPE": "C", "REDIS_URL": "redis://x", "DEBUG": "1", "PYTHONPATH": "/x"}
    assert inherited_env(environ) == {"PATH": "/bin", "LC_CTYPE": "C", "PYTHONPATH": "/x"}


def test_every_variable_the_pod_contract_documents_reaches_the_pod() -> None:
    """docs/executor.md lists the contract; each name is set for the pod or passed through."""
    text = (ROOT / "docs" / "executor.md").read_text()
    section = text.split("## Environment and configuration", 1)[1].split("\n\n", 3)[2]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", section, re.MULTILINE))
    assert {"POD_NAME", "INVOKER_BATCH_MAX_MS"} <= documented, section
    set_by_the_runtime = {"POD_NAME", "INVOKER_CONFIG_DIR", "INVOKER_SOCKET_DIR", "INVOKER_METRICS_PORT"}
    assert documented <= INHERITED_ENV | set_by_the_runtime
