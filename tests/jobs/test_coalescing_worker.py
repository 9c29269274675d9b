"""Leading-edge coalescing through the real Redis broker and a real Celery worker process.

The worker runs against a database and a local-backend state directory of its own (set up by
``manage.py migrate`` and ``import_topology`` in subprocesses), so this test reads its results
from that database file directly. The test holds the state directory's object lock to keep the
first pass busy for as long as it needs: that is how a burst "arrives while a pass runs".
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from invoker_web.celery import app
from jobs import coalesce
from jobs.tasks import request_reconcile
from orchestrator.local.store import StateDir
from tests.conftest import ROOT, _wait_for_worker
from tests.polling import wait_until

EXAMPLE = ROOT / "examples" / "word-count.yaml"


@dataclass
class Worker:
    name: str
    database: Path
    state_dir: Path

    def runs(self) -> list[dict]:
        """The reconcile runs the worker recorded for the deployment, oldest first."""
        with sqlite3.connect(self.database) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT r.trigger, r.started_at, r.finished_at, r.result FROM topology_editor_reconcilerun r "
                "JOIN topology_editor_deployment d ON r.deployment_id = d.id "
                "WHERE d.name = ? AND r.result != 'running' ORDER BY r.started_at",
                (self.name,),
            ).fetchall()
        return [dict(row) for row in rows]


def _route_reconciles(routes: dict) -> None:
    """Points this process's reconcile requests at ``routes`` (Celery caches its router)."""
    app.conf.task_routes = routes
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def worker(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    base = tmp_path_factory.mktemp("coalescing")
    name = f"coalesce-{uuid.uuid4().hex[:6]}"
    queue, hostname = f"test-reconcile-{name}", f"{name}@localhost"
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{base / 'db.sqlite3'}",
        "INVOKER_BACKEND": "local",
        "INVOKER_LOCAL_STATE_DIR": str(base / "state"),
        "INVOKER_RECONCILE_QUEUE": queue,
    }
    manifest = base / "manifest.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("name: word-count-demo", f"name: {name}", 1))
    _manage(env, "migrate", "--noinput")
    # The import's own request goes to a queue nobody consumes; the test starts from a clean slate.
    _manage({**env, "INVOKER_RECONCILE_QUEUE": f"{queue}-unused"}, "import_topology", str(manifest))
    coalesce.clear(name)
    log = (base / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "invoker_web", "worker", "--pool", "solo", "-Q", queue,
         "--hostname", hostname, "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    original_routes = app.conf.task_routes
    _route_reconciles({"jobs.reconcile": {"queue": queue}})
    try:
        _wait_for_worker(hostname, process)
        yield Worker(name, base / "db.sqlite3", base / "state")
    finally:
        _route_reconciles(original_routes)
        process.terminate()
        process.wait(timeout=30)
        log.close()
        coalesce.clear(name)


def test_the_first_change_runs_at_once_and_a_burst_folds_into_one_trailing_pass(worker: Worker) -> None:
    store = StateDir(worker.state_dir)
    with store.objects_lock():  # the first pass blocks on its first write until the burst is in
        assert request_reconcile(worker.name, "first save") is True
        wait_until(lambda: coalesce.is_running(worker.name), 30, "the first pass to start on its own")
        burst = [request_reconcile(worker.name, f"save {i}") for i in range(5)]
        assert burst == [False] * 5, "changes made while a pass runs must not queue more tasks"
    wait_until(
        lambda: len(requested(worker)) >= 2 and not coalesce.is_running(worker.name), 60, "both passes"
    )
    # Nothing is left to run: no request waits, and the burst queued no task (all False above).
    assert not coalesce.redis_client().exists(coalesce.keys(worker.name)[0])
    first, trailing, *more = requested(worker)
    assert more == [], "the burst must fold into exactly one trailing pass"
    assert (first["trigger"], first["result"]) == ("first save", "success")
    assert trailing["trigger"] == "5 change(s) made during the previous pass"
    assert trailing["started_at"] >= first["finished_at"], "passes of one deployment never overlap"


def requested(worker: Worker) -> list[dict]:
    """The passes that requests caused. No runtime runs the pods here, so the deployment stays
    Pending and the task also looks again every 2 s by itself ("rollout in progress")."""
    return [run for run in worker.runs() if run["trigger"] != "rollout in progress"]
