"""Every pytest run gets state of its own, so that no test can reach a running `./dev up`.

`./dev up` keeps its state in the clone's `data/` (the SQLite database and the local runtime's
state directory, whose objects its runtime turns into running pods) and in Redis database 0
(its Celery queue and its channel layer). The settings default to exactly those, and
pytest-django imports the settings before any conftest runs. So this plugin is loaded first, with
`-p tests.isolation` in pyproject.toml, and sets the environment before the settings are read:

- `INVOKER_DATA_DIR` and `INVOKER_LOCAL_STATE_DIR` point into a directory made for this run and
  removed at its end, whatever they were before;
- `REDIS_URL` and `INVOKER_STATE_REDIS_URL` default to the tests' database (15 of each Redis, as
  `./dev test` sets them), and a run whose Redis settings name database 0 stops before any test
  runs.

Subprocesses the tests start (manage.py, Celery workers, the browser tests' server, runtimes)
inherit this environment, so they are isolated too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

#: The Redis database of the tests (`./dev test` exports the same); a bare `pytest` gets it too.
TEST_REDIS_URL = "redis://127.0.0.1:16379/15"
#: The executors' state store of the tests: database 15 of the state Redis (`./dev test` sets it).
TEST_STATE_REDIS_URL = "redis://127.0.0.1:16381/15"
#: The Redis database of a running `./dev up` (scripts/dev/app.sh), which no test may use.
LIVE_REDIS_DB = 0
#: Every setting that names a Redis database (the others default to REDIS_URL).
REDIS_SETTINGS = (
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CHANNELS_REDIS_URL",
    "INVOKER_STATE_REDIS_URL",
)
RUN_DIR = pytest.StashKey[Path]()


def redis_db(url: str) -> int:
    """The database number a Redis URL selects (`/N` or `?db=N`; none means 0, as redis-py reads it)."""
    parsed = urlparse(url)
    path = parsed.path.strip("/")
    if path:
        return int(path)
    return int(parse_qs(parsed.query).get("db", ["0"])[0])


def live_redis_settings(environ: Mapping[str, str]) -> list[str]:
    """The Redis settings in ``environ`` that name the live instance's database."""
    return [
        f"{name}={environ[name]}"
        for name in REDIS_SETTINGS
        if environ.get(name) and redis_db(environ[name]) == LIVE_REDIS_DB
    ]


def isolate(environ: MutableMapping[str, str], run_dir: Path) -> None:
    """Points ``environ`` at state of this run only; refuses the live Redis database by name."""
    environ.setdefault("REDIS_URL", TEST_REDIS_URL)
    # Its settings default is the live state store's database 0, so it needs its own default.
    environ.setdefault("INVOKER_STATE_REDIS_URL", TEST_STATE_REDIS_URL)
    live = live_redis_settings(environ)
    if live:
        raise pytest.UsageError(
            f"{', '.join(live)}: Redis database {LIVE_REDIS_DB} is the one `./dev up` uses; the tests "
            f"need a database of their own (unset it for the default {TEST_REDIS_URL}, as ./dev test uses)"
        )
    environ["INVOKER_DATA_DIR"] = str(run_dir / "data")
    environ["INVOKER_LOCAL_STATE_DIR"] = str(run_dir / "local-runtime")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # A short prefix: Unix socket paths under the state directory are limited to ~107 bytes.
    run_dir = Path(tempfile.mkdtemp(prefix="inv-run-"))
    early_config.stash[RUN_DIR] = run_dir
    try:
        isolate(os.environ, run_dir)
    except pytest.UsageError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def pytest_unconfigure(config: pytest.Config) -> None:
    run_dir = config.stash.get(RUN_DIR, None)
    if run_dir is not None:
        shutil.rmtree(run_dir, ignore_errors=True)
