"""Fixtures for the Helm chart tests: the helm binary (built by `./dev start helm`) and renders.

The helm fixture fails, never skips, when the binary is missing: a skipped test did not run.
Helm's own config, cache and data directories point at a private temp dir, so the tests read
no repository list or plugin of the machine's user and leave nothing behind.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "invoker"
EXAMPLES = sorted((CHART / "examples").glob("*.yaml"))
#: The version of the test cluster (`./dev start kube`), given to helm explicitly.
KUBE_VERSION = "1.33.13"
#: kubernetes-validate ships schemas per minor version.
SCHEMA_VERSION = "1.33.0"
RELEASE, NAMESPACE = "inv", "invoker"
#: Values sets every render test runs over: the defaults and each documented example.
VALUES_SETS = [None, *EXAMPLES]
VALUES_IDS = ["default", *(p.stem for p in EXAMPLES)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """helm is a tool the project's scripts provide, like a service: tests that need it are
    marked `services`, so `-m "not services"` still selects only the pure-logic tests."""
    for item in items:
        if "helm" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.services)


def helm_version() -> str:
    """The version scripts/services/helm.sh builds (its default), so both agree on one path."""
    text = (ROOT / "scripts" / "services" / "helm.sh").read_text()
    match = re.search(r"HELM_VERSION=\$\{INVOKER_HELM_VERSION:-(v[0-9.]+)\}", text)
    assert match, "scripts/services/helm.sh no longer sets HELM_VERSION the way this test reads it"
    return os.environ.get("INVOKER_HELM_VERSION", match.group(1))


@dataclass
class Helm:
    binary: Path
    home: Path
    _renders: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict)

    def run(self, *args: str, kubeconfig: str | None = None, check: bool = True, timeout: float = 120):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        if kubeconfig:
            env["KUBECONFIG"] = kubeconfig
        result = subprocess.run(
            [str(self.binary), *args], env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stderr}{result.stdout}"
            )
        return result

    def template(self, values: Path | None = None, *sets: str) -> list[dict[str, Any]]:
        """The rendered documents (CRDs included) for a values file and --set overrides; cached."""
        cache_key = (values, sets)
        if cache_key not in self._renders:
            args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
            args.append("--include-crds")
            if values:
                args += ["--values", str(values)]
            for item in sets:
                args += ["--set", item]
            out = self.run(*args).stdout
            self._renders[cache_key] = [doc for doc in yaml.safe_load_all(out) if doc]
        return self._renders[cache_key]


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    default = Path(os.environ.get("INVOKER_CACHE", Path.home() / ".cache/invoker")) / "helm"
    binary = Path(os.environ.get("INVOKER_HELM", default / helm_version() / "bin" / "helm"))
    if not os.access(binary, os.X_OK):
        pytest.fail(f"helm is missing at {binary}; build it with `./dev start helm`")
    return Helm(binary, tmp_path_factory.mktemp("helm-home"))


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name_suffix: str = "") -> dict[str, Any]:
    found = [d for d in by_kind(docs, kind) if d["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, (
        f"expected one {kind} named *{name_suffix}, got {[d['metadata']['name'] for d in found]}"
    )
    return found[0]


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`Kind/name` → pod spec of every workload in the render."""
    return {
        f"{d['kind']}/{d['metadata']['name']}": d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet")
    }
