"""What a build and a start need from the repository, checked without building: every COPY
source exists and is not excluded by .dockerignore, every Python module, `module:attribute` and
file the images or the chart run exists, the images are multi-stage, pinned by tag and non-root,
and each installs only pinned packages. tests/images builds nothing either: it runs the images
`./dev images` built (scripts/services/images.sh).
"""

from __future__ import annotations

import ast
import fnmatch
import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.chart.conftest import ROOT

DASHBOARD = ROOT / "docker" / "Dockerfile"
DOCKERFILES = [DASHBOARD, *sorted((ROOT / "executor" / "docker").glob("*Dockerfile"))]
IDS = [str(p.relative_to(ROOT)) for p in DOCKERFILES]


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    result = []
    for line in logical:
        keyword, _, rest = line.strip().partition(" ")
        result.append((keyword.upper(), re.sub(r"\s+", " ", rest).strip()))
    return result


def dockerignored(relative: str) -> bool:
    patterns = [
        p.strip()
        for p in (ROOT / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    return any(fnmatch.fnmatch(relative, p) or relative.split("/")[0] == p for p in patterns)


def exec_form(arguments: str) -> list[str]:
    return yaml.safe_load(arguments) if arguments.startswith("[") else shlex.split(arguments)


def module_file(module: str) -> Path | None:
    base = ROOT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__main__.py", base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def check_command(argv: list[str], copied: set[str], where: str) -> int:
    """Checks the repository parts a command runs; returns how many it checked."""
    checked = 0
    for i, arg in enumerate(argv):
        if arg == "-m" and i + 1 < len(argv) and argv[i - 1].endswith("python"):
            module = argv[i + 1]
            if module in ("venv", "pip"):
                continue
            assert module_file(module), f"{where}: python -m {module}: no such module in the repository"
            assert module.split(".")[0] in copied, f"{where}: {module} is not copied into the image"
            checked += 1
        elif re.fullmatch(r"[a-z_][a-z0-9_.]*:[a-zA-Z_][a-zA-Z0-9_]*", arg):
            module, attribute = arg.split(":")
            source = module_file(module)
            assert source, f"{where}: {arg}: no module {module}"
            names = {
                t.id
                for node in ast.parse(source.read_text()).body
                for t in (node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)])
                if isinstance(t, ast.Name)
            } | {n.name for n in ast.parse(source.read_text()).body if hasattr(n, "name")}
            assert attribute in names, f"{where}: {module} defines no {attribute}"
            assert module.split(".")[0] in copied, f"{where}: {module} is not copied into the image"
            checked += 1
        elif arg.endswith(".py") and not arg.startswith("/"):
            assert (ROOT / arg).is_file(), f"{where}: {arg} does not exist"
            assert arg in copied, f"{where}: {arg} is not copied into the image"
            checked += 1
        elif arg.startswith(("--app=", "-A=")) or (i > 0 and argv[i - 1] in ("-A", "--app")):
            app = arg.split("=", 1)[-1]
            assert module_file(app), f"{where}: no package {app}"
            assert (ROOT / app / "celery.py").is_file(), f"{where}: no Celery app in {app}"
            checked += 1
    return checked


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_every_copy_source_and_command_exists_in_the_repository(dockerfile) -> None:
    steps = instructions(dockerfile)
    copied: set[str] = set()
    checked = 0
    for keyword, arguments in steps:
        if keyword in ("COPY", "ADD"):
            parts = [p for p in shlex.split(arguments) if not p.startswith("--")]
            if "--from=" in arguments:
                continue
            *sources, _destination = parts
            for source in sources:
                assert (ROOT / source).exists(), f"{dockerfile.name}: COPY {source}: not in the repository"
                assert not dockerignored(source), (
                    f"{dockerfile.name}: COPY {source} is excluded by .dockerignore"
                )
                copied.add(source.rstrip("/"))
                checked += 1
    for keyword, arguments in steps:
        if keyword in ("RUN", "CMD", "ENTRYPOINT"):
            checked += check_command(exec_form(arguments), copied, f"{dockerfile.name} {keyword}")
    assert checked >= 3
    # Multi-stage, non-root, pinned base.
    froms = [a for k, a in steps if k == "FROM"]
    assert len(froms) >= 2, "expected a build stage and a runtime stage"
    users = [a for k, a in steps if k == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in ("0", "root")


def test_the_dashboard_image_is_pinned_and_builds_from_requirements_only() -> None:
    steps = instructions(DASHBOARD)
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for k, a in steps if k == "ARG" and "=" in a}
    assert args["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"
    installs = [a for k, a in steps if k == "RUN" and "pip install" in a]
    assert installs == ["python -m venv /opt/venv && /opt/venv/bin/pip install -r /tmp/requirements.txt"]
    collect = [a for k, a in steps if k == "RUN" and "collectstatic" in a]
    assert len(collect) == 1
    assert "SECRET_KEY=build-only" in collect[0]
    assert not [a for k, a in steps if k == "ENV" and "SECRET_KEY" in a], "the build key must not persist"
    assert [a for k, a in steps if k == "USER"] == ["10001:10001"]


def test_the_charts_commands_run_what_the_dashboard_image_holds(helm) -> None:
    copied = {
        source.rstrip("/")
        for keyword, arguments in instructions(DASHBOARD)
        if keyword == "COPY" and "--from=" not in arguments
        for source in shlex.split(arguments)[:-1]
    }
    requirements = (ROOT / "requirements.txt").read_text().lower()
    commands = []
    for doc in helm.template(None):
        if doc["kind"] in ("Deployment", "Job") and "redis" not in doc["metadata"]["name"]:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                commands.append(container["command"])
    assert len(commands) >= 4  # web, worker(s), beat, migrations
    for argv in commands:
        assert check_command(argv, copied, " ".join(argv)) >= 1
        if argv[0] in ("uvicorn", "celery"):
            assert f"\n{argv[0]}" in "\n" + requirements, f"{argv[0]} is not in requirements.txt"


def test_the_build_time_collectstatic_step_succeeds(tmp_path) -> None:
    """Runs the Dockerfile's collectstatic command with exactly its build-only environment
    (into a temp dir instead of /app/data): production settings must accept it."""
    import os
    import subprocess
    import sys

    (step,) = [a for k, a in instructions(DASHBOARD) if k == "RUN" and "collectstatic" in a]
    words = shlex.split(step)
    env_items = [w for w in words if re.fullmatch(r"[A-Z_]+=.*", w)]
    argv = words[len(env_items) :]
    assert argv[:3] == ["python", "manage.py", "collectstatic"]
    env = dict(item.split("=", 1) for item in env_items)
    assert env["DEBUG"] == "false"
    env |= {"PATH": os.environ["PATH"], "INVOKER_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, *argv[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").is_file(), "no manifest for the production storage"
    assert not Path(env["DATABASE_URL"].removeprefix("sqlite:///")).exists()


def build_args(path: Path) -> dict[str, str]:
    return {a.split("=", 1)[0]: a.split("=", 1)[1] for k, a in instructions(path) if k == "ARG" and "=" in a}


def test_every_image_defaults_to_the_same_python_base() -> None:
    """One base for all four, so the images share its layers on a node (./dev images passes the
    project's own base through the same argument)."""
    bases = {str(p.relative_to(ROOT)): build_args(p).get("PYTHON_IMAGE") for p in DOCKERFILES}
    assert set(bases.values()) == {"python:3.11-slim-bookworm"}, bases
    for path in DOCKERFILES:
        froms = [a.split()[0] for k, a in instructions(path) if k == "FROM"]
        assert froms[0] == "${PYTHON_IMAGE}", f"{path.name}: the first stage must build on PYTHON_IMAGE"


@pytest.mark.parametrize("dockerfile", DOCKERFILES[1:], ids=IDS[1:])
def test_the_executor_images_install_only_packages_pinned_in_requirements(dockerfile) -> None:
    pinned = {
        line.split("==")[0].split("[")[0].lower()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    (install,) = [a for k, a in instructions(dockerfile) if k == "RUN" and "pip install" in a]
    (pattern,) = re.findall(r"grep -iE '\^\(([^)]*)\)=='", install)
    names = pattern.lower().split("|")
    assert "msgpack" in names
    assert not set(names) - pinned, (
        f"{dockerfile.name}: not pinned in requirements.txt: {set(names) - pinned}"
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_pip_leaves_every_image_but_the_udf_one(dockerfile) -> None:
    """Nothing installs at run time (read-only root); the UDF image is the base of users' images."""
    runs = " ".join(a for k, a in instructions(dockerfile) if k == "RUN")
    removes = "pip uninstall --yes --quiet pip setuptools" in runs
    assert removes == (dockerfile.name != "udf.Dockerfile")


def test_the_udf_dockerfile_builds_both_samples_with_word_count_by_default() -> None:
    steps = instructions(ROOT / "executor" / "docker" / "udf.Dockerfile")
    stages = {}
    current = None
    for keyword, arguments in steps:
        if keyword == "FROM":
            current = arguments.split(" AS ")[-1] if " AS " in arguments else arguments
            stages[current] = []
        elif current:
            stages[current].append((keyword, arguments))
    assert list(stages)[-1] == "word-count", "the default target (the last stage) must be word-count"
    assert stages["sum"] == [("CMD", '["executor.samples.sum:udf"]')]
    assert stages["word-count"] == [("CMD", '["executor.samples.word_count:udf"]')]
    assert ("ENTRYPOINT", '["python", "-m", "executor.udf_host"]') in stages["host"]
