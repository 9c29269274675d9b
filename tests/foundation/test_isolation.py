"""Every pytest run has state of its own (tests.isolation): never the `data/` directory, the local
runtime's state directory or the Redis database of a `./dev up` in the same clone."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.isolation import TEST_REDIS_URL, isolate, live_redis_settings, redis_db

ROOT = Path(__file__).resolve().parents[2]
LIVE_DATA_DIR = ROOT / "data"
PROBE = """
import json, os
from pathlib import Path
from django.conf import settings

def test_probe():
    Path(os.environ["PROBE_OUT"]).write_text(json.dumps({
        "env": os.environ["INVOKER_LOCAL_STATE_DIR"], "data": os.environ["INVOKER_DATA_DIR"],
        "settings": str(settings.INVOKER_LOCAL_STATE_DIR), "redis": settings.REDIS_URL,
    }))
"""


@pytest.mark.parametrize(
    ("url", "db"),
    [
        ("redis://127.0.0.1:16379/15", 15),
        ("redis://127.0.0.1:16379/0", 0),
        ("redis://127.0.0.1:16379", 0),
        ("redis://127.0.0.1:16379/", 0),
        ("redis://:pw@127.0.0.1:16379?db=3", 3),
    ],
)
def test_it_reads_the_database_a_redis_url_selects(url: str, db: int) -> None:
    assert redis_db(url) == db


def test_it_names_every_redis_setting_that_points_at_the_live_database() -> None:
    environ = {
        "REDIS_URL": "redis://127.0.0.1:16379/15",
        "CELERY_BROKER_URL": "redis://127.0.0.1:16379",
        "CHANNELS_REDIS_URL": "redis://127.0.0.1:16379/0",
        "PATH": "/usr/bin",
    }
    assert live_redis_settings(environ) == [
        "CELERY_BROKER_URL=redis://127.0.0.1:16379",
        "CHANNELS_REDIS_URL=redis://127.0.0.1:16379/0",
    ]


def test_this_run_uses_a_state_directory_and_data_directory_of_its_own() -> None:
    state_dir = Path(os.environ["INVOKER_LOCAL_STATE_DIR"])
    assert state_dir == settings.INVOKER_LOCAL_STATE_DIR
    assert Path(os.environ["INVOKER_DATA_DIR"]) == settings.DATA_DIR
    assert not state_dir.is_relative_to(LIVE_DATA_DIR)
    assert not settings.DATA_DIR.is_relative_to(LIVE_DATA_DIR)
    assert state_dir.parent == settings.DATA_DIR.parent  # the run's directory
    assert redis_db(settings.REDIS_URL) != 0
    assert redis_db(settings.CELERY_BROKER_URL) != 0


def test_without_settings_of_its_own_a_run_gets_database_15_of_both_redis_servers(tmp_path: Path) -> None:
    """The executors' state store defaults (in settings) to the live database 0 of the state Redis."""
    environ: dict[str, str] = {}
    isolate(environ, tmp_path)
    assert environ["REDIS_URL"] == TEST_REDIS_URL
    assert environ["INVOKER_STATE_REDIS_URL"] == "redis://127.0.0.1:16381/15"
    assert not live_redis_settings(environ)


def _pytest(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text(PROBE)
    base = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "PYTEST_ADDOPTS"}}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(ROOT), str(tmp_path / "test_probe.py")],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_run_ignores_the_live_state_directory_it_inherits_and_removes_its_own(tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    inherited = {
        "INVOKER_LOCAL_STATE_DIR": str(LIVE_DATA_DIR / "local-runtime"),
        "INVOKER_DATA_DIR": str(LIVE_DATA_DIR),
        "PROBE_OUT": str(out),
    }
    done = _pytest(tmp_path, inherited)
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(out.read_text())
    assert seen["env"] == seen["settings"] != inherited["INVOKER_LOCAL_STATE_DIR"]
    assert not Path(seen["data"]).is_relative_to(LIVE_DATA_DIR)
    assert seen["redis"] == TEST_REDIS_URL
    assert not Path(seen["settings"]).parent.exists(), "the run's directory was left behind"


def test_a_run_pointed_at_the_live_redis_database_stops_before_any_test(tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    done = _pytest(tmp_path, {"REDIS_URL": "redis://127.0.0.1:16379/0", "PROBE_OUT": str(out)})
    assert done.returncode != 0
    assert "REDIS_URL=redis://127.0.0.1:16379/0: Redis database 0 is the one `./dev up` uses" in done.stderr
    assert not out.exists()
