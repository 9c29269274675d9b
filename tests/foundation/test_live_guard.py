"""The guard `./dev test` runs around the suite (scripts/dev/live_guard.py): the comparison
itself, then the real script against a throwaway live instance made of real files, a real
SQLite database and real processes, changed the ways a test could change it."""

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "dev" / "live_guard.py"
_spec = importlib.util.spec_from_file_location("live_guard", SCRIPT)
live_guard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(live_guard)


def state(**sections: dict[str, str]) -> dict:
    return {"processes": {}, "deployments": {}, "objects": {}, "pods": {}, **sections}


# --- The comparison -----------------------------------------------------------------------------
def test_identical_states_have_no_changes() -> None:
    one = state(processes={"web": "running"}, pods={"s:default/a.p-0": ""})
    assert live_guard.compare(one, json.loads(json.dumps(one))) == []


def test_every_difference_is_named_by_section_and_item() -> None:
    before = state(
        processes={"web": "running", "runtime": "running"},
        deployments={"db:wc": "resourceVersion 1"},
        objects={"s:default/ConfigMap/wc.splitter": "aaa"},
        pods={"s:default/wc.splitter-0": ""},
    )
    after = state(
        processes={"web": "crashed", "runtime": "running"},
        deployments={"db:wc": "resourceVersion 1", "db:dragged": "resourceVersion 2"},
        objects={"s:default/ConfigMap/wc.splitter": "bbb"},
        pods={},
    )
    assert live_guard.compare(before, after) == [
        "app process changed: web (running -> crashed)",
        "deployment appeared: db:dragged (resourceVersion 2)",
        "object changed: s:default/ConfigMap/wc.splitter (aaa -> bbb)",
        "pod disappeared: s:default/wc.splitter-0",
    ]


def test_an_objects_status_and_resource_version_are_not_what_a_test_changes() -> None:
    obj = {"kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "3"}, "data": {"k": "v"}}
    rewritten = {**obj, "metadata": {"name": "a", "resourceVersion": "9"}, "status": {"phase": "x"}}
    edited = {**obj, "data": {"k": "w"}}
    assert live_guard.object_hash(rewritten) == live_guard.object_hash(obj) != live_guard.object_hash(edited)


def test_nothing_at_all_is_no_live_instance_and_anything_is_one() -> None:
    empty = state(places={"state_dirs": ["/x/data/local-runtime"]})
    assert live_guard.describe(empty).startswith("no live instance")
    assert not live_guard.is_live(state(processes={"web": "crashed"}))
    assert live_guard.is_live(state(processes={"web": "running"}))
    assert live_guard.is_live(state(objects={"s:default/ConfigMap/a": "h"}))


# --- The script against a throwaway live instance -------------------------------------------------
class FakeLive:
    """A clone's `data/` and a run directory with the layout `./dev up` leaves, in tmp."""

    def __init__(self, tmp: Path) -> None:
        self.root, self.run = tmp / "clone", tmp / "run"
        self.state_dir = self.root / "data" / "local-runtime"
        self.database = self.root / "data" / "db.sqlite3"
        self.processes: list[subprocess.Popen] = []
        (self.run / "app").mkdir(parents=True)

    def write_object(self, kind: str, name: str, body: dict, state_dir: Path | None = None) -> None:
        path = (state_dir or self.state_dir) / "objects" / "default" / kind / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"kind": kind, "metadata": {"name": name}, **body}))

    def write_pod(self, deployment: str, pid: int) -> None:
        path = self.state_dir / "pods" / "default" / f"{deployment}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"deployment": deployment, "containers": {"executor": {"pid": pid}}}))

    def sql(self, statement: str) -> None:
        self.database.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.database) as conn:
            conn.execute(statement)
        conn.close()

    def start(self, name: str, *args: str) -> subprocess.Popen:
        """A real process behind `RUN/app/NAME.pid`, with ``args`` on its command line."""
        process = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)", *args], cwd=self.root
        )
        self.processes.append(process)
        (self.run / "app" / f"{name}.pid").write_text(f"{process.pid}\n")
        return process

    def guard(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, str(SCRIPT), *args, "--root", str(self.root), "--run", str(self.run)]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    def snapshot(self, path: Path) -> str:
        done = self.guard("snapshot")
        assert done.returncode == 0, done.stderr
        path.write_text(done.stdout)
        return done.stderr

    def check(self, path: Path) -> subprocess.CompletedProcess[str]:
        return self.guard("check", str(path))


@pytest.fixture
def live(tmp_path: Path) -> Iterator[FakeLive]:
    fake = FakeLive(tmp_path)
    fake.sql(
        "CREATE TABLE topology_editor_deployment (id INTEGER PRIMARY KEY, name TEXT, resource_version INT)"
    )
    fake.sql("INSERT INTO topology_editor_deployment (name, resource_version) VALUES ('word-count-demo', 1)")
    fake.write_object("ConfigMap", "word-count-demo.splitter", {"data": {"main.json": "{}"}})
    fake.write_pod("word-count-demo.splitter-0", 1234)
    fake.start("web")
    yield fake
    for process in fake.processes:
        process.kill()
        process.wait()


def test_a_live_instance_left_as_it_was_passes(live: FakeLive, tmp_path: Path) -> None:
    before = tmp_path / "before.json"
    assert "live instance: 1 app process(s), 1 deployment(s), 1 object(s), 1 pod(s)" in live.snapshot(before)
    # What the instance does by itself: status writes, a restarted pod under a new pid.
    metadata = {"name": "word-count-demo.splitter", "resourceVersion": "7"}
    body = {"data": {"main.json": "{}"}, "metadata": metadata, "status": {"observed": True}}
    live.write_object("ConfigMap", "word-count-demo.splitter", body)
    live.write_pod("word-count-demo.splitter-0", 5678)
    live.sql("UPDATE topology_editor_deployment SET resource_version = resource_version")
    done = live.check(before)
    assert done.returncode == 0, done.stderr
    assert "live guard: unchanged" in done.stderr


def test_it_names_what_the_suite_changed_in_the_live_instance(live: FakeLive, tmp_path: Path) -> None:
    before = tmp_path / "before.json"
    live.snapshot(before)
    live.sql("INSERT INTO topology_editor_deployment (name, resource_version) VALUES ('dragged', 1)")
    live.write_object("ConfigMap", "dragged.splitter", {"data": {}})
    live.write_object("ConfigMap", "word-count-demo.splitter", {"data": {"main.json": '{"epoch": 2}'}})
    live.write_pod("dragged.splitter-0", 4321)
    live.processes[0].kill()
    live.processes[0].wait()
    done = live.check(before)
    assert done.returncode == 1
    state_dir, database = live.state_dir, live.database
    for line in (
        "the test suite changed the live instance",
        "app process changed: web (running -> crashed)",
        f"deployment appeared: {database}:dragged",
        f"object appeared: {state_dir}:default/ConfigMap/dragged.splitter",
        f"object changed: {state_dir}:default/ConfigMap/word-count-demo.splitter",
        f"pod appeared: {state_dir}:default/dragged.splitter-0",
    ):
        assert line in done.stderr, done.stderr


def test_reading_the_live_instance_writes_nothing(live: FakeLive, tmp_path: Path) -> None:
    files = sorted(live.root.rglob("*"))
    database = live.database.read_bytes(), live.database.stat().st_mtime_ns
    live.snapshot(tmp_path / "before.json")
    assert sorted(live.root.rglob("*")) == files  # no journal, no new file
    assert (live.database.read_bytes(), live.database.stat().st_mtime_ns) == database


def test_it_watches_the_state_directory_of_the_runtime_that_runs(live: FakeLive, tmp_path: Path) -> None:
    elsewhere = tmp_path / "other-clone-state"
    live.write_object("Deployment", "other.p-0", {"spec": {}}, state_dir=elsewhere)
    live.start("runtime", "--state-dir", str(elsewhere))
    before = tmp_path / "before.json"
    live.snapshot(before)
    assert str(elsewhere) in json.loads(before.read_text())["places"]["state_dirs"]
    live.write_object("Deployment", "rebalanced.p-0", {"spec": {}}, state_dir=elsewhere)
    done = live.check(before)
    assert done.returncode == 1
    assert f"object appeared: {elsewhere}:default/Deployment/rebalanced.p-0" in done.stderr


def test_with_no_live_instance_it_says_so_and_still_fails_when_one_appears(tmp_path: Path) -> None:
    empty = FakeLive(tmp_path)
    before = tmp_path / "before.json"
    assert "no live instance" in empty.snapshot(before)
    done = empty.check(before)
    assert done.returncode == 0, done.stderr
    assert "no live instance" in done.stderr
    assert not (empty.root / "data").exists()  # looking created nothing
    empty.write_object("ConfigMap", "dragged.splitter", {"data": {}})
    done = empty.check(before)
    assert done.returncode == 1
    assert f"object appeared: {empty.state_dir}:default/ConfigMap/dragged.splitter" in done.stderr


def test_it_reads_what_the_projects_own_commands_leave_and_ignores_a_second_reconcile(
    tmp_path: Path, redis_url: str
) -> None:
    """The layout the guard reads is the real one: a clone's data made by `migrate`,
    `import_topology` and `reconcile` (the local backend, no runtime), as `./dev up` makes it."""
    live = FakeLive(tmp_path)
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "REDIS_URL": redis_url,
        "INVOKER_DATA_DIR": str(live.root / "data"), "INVOKER_LOCAL_STATE_DIR": str(live.state_dir),
    }  # fmt: skip

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    manage("migrate", "--noinput", "-v0")
    manage("import_topology", str(ROOT / "examples" / "word-count.yaml"))
    manage("reconcile", "word-count-demo")
    before = tmp_path / "before.json"
    live.snapshot(before)
    recorded = json.loads(before.read_text())
    assert list(recorded["deployments"]) == [f"{live.database}:word-count-demo"]
    kinds = {key.split(":", 1)[1].split("/")[1] for key in recorded["objects"]}
    assert {"ConfigMap", "Deployment", "InvokerDeployment"} <= kinds
    manage("reconcile", "word-count-demo")  # the live instance's own resync: status only
    done = live.check(before)
    assert done.returncode == 0, done.stderr
    # What the browser tests' server used to do to the live instance.
    dragged = tmp_path / "dragged.yaml"
    dragged.write_text(
        (ROOT / "examples" / "word-count.yaml").read_text().replace("word-count-demo", "dragged")
    )
    manage("import_topology", str(dragged))
    manage("reconcile", "dragged")
    done = live.check(before)
    assert done.returncode == 1
    assert f"deployment appeared: {live.database}:dragged" in done.stderr
    assert f"object appeared: {live.state_dir}:default/ConfigMap/dragged.splitter" in done.stderr
