"""`./dev test` (scripts/dev/testsuite.sh) runs its steps in an environment of their own and
fails, naming the change, when a step touches a live `./dev up`.

`run_test_suite` itself runs here, against a throwaway clone whose `data/` holds a live
instance's objects, with stand-ins for the tools its steps call (ruff, pytest...): a stand-in
pytest records the environment it was given and, when asked, writes into the live state
directory the way the browser tests' server used to. The guard is the real script, and no
real Redis database is emptied (redis-cli is a stand-in too).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAND_IN = """#!/bin/sh
env > "$PROBE_DIR/$(basename "$0")-$$.env"
echo "$*" >> "$PROBE_DIR/$(basename "$0").args"
if [ "$(basename "$0")" = pytest ] && [ -n "$LEAK_INTO" ]; then
  mkdir -p "$LEAK_INTO" && echo '{"kind": "ConfigMap", "metadata": {"name": "dragged.splitter"}}' \\
    > "$LEAK_INTO/dragged.splitter.json"
fi
exit 0
"""


class Clone:
    """A clone with a live instance's state directory, a cache with stand-in tools, a run dir."""

    def __init__(self, tmp: Path) -> None:
        self.root, self.cache, self.probe = tmp / "clone", tmp / "cache", tmp / "probe"
        self.live_objects = self.root / "data" / "local-runtime" / "objects" / "default" / "ConfigMap"
        self.live_objects.mkdir(parents=True)
        (self.live_objects / "word-count-demo.splitter.json").write_text(
            json.dumps({"kind": "ConfigMap", "metadata": {"name": "word-count-demo.splitter"}, "data": {}})
        )
        (self.root / "scripts").symlink_to(ROOT / "scripts")
        (self.root / "manage.py").write_text("import sys\nsys.exit(0)\n")
        bin_dir = self.cache / "venv" / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "python").symlink_to(sys.executable)
        tools = self.cache / "tools"
        tools.mkdir()
        for name in ("ruff", "lint-imports", "pytest"):
            (bin_dir / name).write_text(STAND_IN)
            (bin_dir / name).chmod(0o755)
        (tools / "redis-cli").write_text(STAND_IN)
        (tools / "redis-cli").chmod(0o755)
        self.probe.mkdir()
        self.tools = tools

    def run_test_suite(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        script = (
            # As ./dev runs it: under errexit, where a failing command in an EXIT trap fails the run.
            "set -euo pipefail; "
            "source scripts/lib.sh; source scripts/services/redis.sh; source scripts/services/postgres.sh; "
            "source scripts/dev/python.sh; source scripts/dev/app.sh; source scripts/dev/testsuite.sh; "
            # The JavaScript steps touch no service and no live state: stand-ins like the tools'.
            "js_lint() { :; }; js_test() { :; }; "
            f"run_test_suite {' '.join(args)}"
        )
        base = {k: v for k, v in os.environ.items() if not k.startswith(("INVOKER_", "REDIS", "DATABASE"))}
        env = {
            **base, "PATH": f"{self.tools}:{os.environ['PATH']}", "INVOKER_ROOT": str(self.root),
            "INVOKER_CACHE": str(self.cache), "INVOKER_RUN": str(self.cache / "run"),
            "PROBE_DIR": str(self.probe), **env,
        }  # fmt: skip
        return subprocess.run(
            ["bash", "-c", script], cwd=self.root, env=env, capture_output=True, text=True, timeout=120
        )

    def pytest_envs(self) -> list[dict[str, str]]:
        envs = []
        for path in sorted(self.probe.glob("pytest-*.env")):
            lines = path.read_text().splitlines()
            envs.append(dict(line.split("=", 1) for line in lines if "=" in line))
        return envs


@pytest.fixture
def clone(tmp_path: Path) -> Clone:
    return Clone(tmp_path)


def test_the_suite_runs_in_state_of_its_own_and_checks_the_live_instance(clone: Clone) -> None:
    live_dir = str(clone.root / "data" / "local-runtime")
    # What a shell that ran `./dev up` or set things by hand may have exported.
    inherited = {
        "INVOKER_LOCAL_STATE_DIR": live_dir, "REDIS_URL": "redis://127.0.0.1:16379/0",
        "DATABASE_URL": "sqlite:////somewhere/live.sqlite3", "CHANNELS_REDIS_URL": "redis://127.0.0.1:16379/0",
    }  # fmt: skip
    done = clone.run_test_suite(inherited)
    assert done.returncode == 0, done.stderr
    assert "live guard: live instance: 0 app process(s), 0 deployment(s), 1 object(s)" in done.stderr
    assert "live guard: unchanged" in done.stderr
    envs = {env["REDIS_URL"].rsplit("/", 1)[1]: env for env in clone.pytest_envs()}
    assert sorted(envs) == ["11", "12", "15"], "the suite is one SQLite run of two shards, and PostgreSQL's"
    suite_dir = Path(envs["15"]["INVOKER_LOCAL_STATE_DIR"]).parent
    assert suite_dir.name.startswith("inv-test.")
    assert not suite_dir.exists(), "the suite's directory was left behind"
    # The runs beside the SQLite step (its second shard, the PostgreSQL step) have a directory and
    # Redis database of their own: Celery queues, channel groups and state keys never cross.
    for db, home in (("15", suite_dir), ("11", suite_dir / "cluster"), ("12", suite_dir / "postgres")):
        env = envs[db]
        state_dir = Path(env["INVOKER_LOCAL_STATE_DIR"])
        assert state_dir.parent == home
        assert Path(env["INVOKER_DATA_DIR"]).parent == home
        assert env["INVOKER_STATE_REDIS_URL"].endswith(f"/{db}")
        assert "CHANNELS_REDIS_URL" not in env
        assert env["INVOKER_PORT"] != "8000"
    assert "DATABASE_URL" not in envs["15"]
    assert "DATABASE_URL" not in envs["11"]
    assert envs["12"]["DATABASE_URL"].startswith("postgres://")
    # Its Redis databases (control plane and state store) are emptied before and after; the live
    # instance's, 0, never.
    flushes = ["-p 16379 -n {db} flushdb", "-p 16381 -n {db} flushdb"]
    tests, postgres, cluster = ([f.format(db=db) for f in flushes] for db in (15, 12, 11))
    assert (
        clone.probe / "redis-cli.args"
    ).read_text().splitlines() == tests + postgres + cluster * 2 + postgres + tests
    args = (clone.probe / "pytest.args").read_text().splitlines()
    assert sorted(line.split()[-1] for line in args) == ["--durations=10", "cluster", "rest"]


def test_tests_picked_by_arguments_run_in_one_sqlite_run(clone: Clone) -> None:
    done = clone.run_test_suite({}, "tests/unit", "-q")
    assert done.returncode == 0, done.stderr
    assert sorted(env["REDIS_URL"].rsplit("/", 1)[1] for env in clone.pytest_envs()) == ["12", "15"]
    assert all(
        line.endswith("tests/unit -q") for line in (clone.probe / "pytest.args").read_text().splitlines()
    )


def test_the_suite_fails_naming_what_a_step_wrote_into_the_live_instance(clone: Clone) -> None:
    done = clone.run_test_suite({"LEAK_INTO": str(clone.live_objects)})
    assert done.returncode == 1
    assert "FAILED: live instance unchanged" in done.stderr
    assert "object appeared:" in done.stderr
    assert "default/ConfigMap/dragged.splitter" in done.stderr
    assert "failed steps: live instance unchanged" in done.stderr


def test_with_no_live_instance_the_guard_still_runs_and_says_so(clone: Clone) -> None:
    for path in clone.live_objects.iterdir():
        path.unlink()
    done = clone.run_test_suite({})
    assert done.returncode == 0, done.stderr
    assert "live guard: no live instance" in done.stderr
    assert "live guard: unchanged; no live instance" in done.stderr
