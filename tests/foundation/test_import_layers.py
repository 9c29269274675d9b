"""The import contracts in pyproject.toml catch every arrow the layers forbid (README, "Layers").

`./dev test` runs `lint-imports` on the tree as it is; here the real tool runs on a copy of the
six packages with one forbidden import added, and must fail naming it. A contract that
passed whatever the code imports would otherwise go unnoticed.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("invoker_web", "topology_editor", "jobs", "orchestrator", "executor", "podcontract")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp: Path) -> Path:
    """The packages' Python files and pyproject.toml, nothing else (no caches, no data)."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    return tmp


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"lint-imports is not installed beside {sys.executable} (requirements-test.txt)")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_tree_as_it_is_keeps_every_contract(tmp_path: Path) -> None:
    done = _lint(_copy(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        # The editor reaches jobs only through the hook jobs registers: the cycle, back.
        ("topology_editor/zz_probe.py", "import jobs.tasks\n", "Layers"),
        # The same through a chain: the editor imports a web module, which imports jobs.
        ("topology_editor/zz_probe.py", "import invoker_web.metrics_view\n", "Layers"),
        ("orchestrator/zz_probe.py", "import topology_editor.models\n", "The orchestrator never imports"),
        ("topology_editor/zz_probe.py", "import orchestrator.reconciler.reconcile\n", "The editor uses only"),
        ("executor/zz_probe.py", "import orchestrator.spec.model\n", "The executor imports nothing else"),
        ("jobs/zz_probe.py", "import executor.config\n", "Nothing imports the executor"),
        ("orchestrator/zz_probe.py", "import executor.config\n", "Nothing imports the executor"),
        ("podcontract/zz_probe.py", "import orchestrator.spec.model\n", "The pod contract imports only"),
        ("podcontract/zz_probe.py", "import kafka\n", "The pod contract imports only"),
        ("orchestrator/zz_probe.py", "import django.conf\n", "free of Django"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, source: str, broken: str
) -> None:
    tree = _copy(tmp_path)
    (tree / module).write_text(source)
    done = _lint(tree)
    assert done.returncode == 1, done.stdout[-3000:]
    broken_lines = [line for line in done.stdout.splitlines() if "BROKEN" in line]
    assert any(broken in line for line in broken_lines), done.stdout[-3000:]
    assert module.replace("/", ".").removesuffix(".py") in done.stdout
