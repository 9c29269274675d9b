"""Every task the code declares is known to a freshly started worker: a task sent by name
(``send_task("jobs.finish_drain")``, ``jobs.promote_canary``) to a worker that never imported its
module would sit unprocessed. A worker loads jobs/tasks.py by autodiscovery and the rest through
``CELERY_IMPORTS``; this test does the same in a new process, so nothing the test run imported
earlier can hide a module left out."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DECLARED = re.compile(r'@shared_task\([^)]*name="(jobs\.[a-z_]+)"')
AS_A_WORKER_STARTS = (
    "import json, django; django.setup()\n"
    "from invoker_web.celery import app\n"
    "app.loader.import_default_modules()\n"
    "print(json.dumps(sorted(app.tasks)))\n"
)


def test_a_fresh_worker_knows_every_task_the_code_declares() -> None:
    declared = {name for path in (ROOT / "jobs").glob("*.py") for name in DECLARED.findall(path.read_text())}
    assert {"jobs.reconcile", "jobs.finish_drain", "jobs.promote_canary"} <= declared, declared
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "invoker_web.settings"}
    argv = [sys.executable, "-c", AS_A_WORKER_STARTS]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    registered = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert declared <= registered, f"declared but unknown to a worker: {sorted(declared - registered)}"
