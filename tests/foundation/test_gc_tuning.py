"""The web server tunes its garbage collector at start (invoker_web/gc_tuning.py, issue 18 item 6):
through the ASGI lifespan the application routes, so only a server does it, and a bad setting is
refused by name when the settings load."""

import asyncio
import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from invoker_web.asgi import application
from invoker_web.gc_tuning import DEFAULT_THRESHOLDS, parse_thresholds
from tests.loops import run_loop

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def interpreter_gc() -> Iterator[None]:
    """The test process's collector as it was, afterwards."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


async def _lifespan() -> list[str]:
    """Runs the application's lifespan as a server does: start-up, then shutdown."""
    inbox: asyncio.Queue = asyncio.Queue()
    sent: list[str] = []
    for kind in ("lifespan.startup", "lifespan.shutdown"):
        inbox.put_nowait({"type": kind})

    async def send(message: dict) -> None:
        sent.append(message["type"])

    await asyncio.wait_for(application({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send), 10)
    return sent


def test_the_servers_start_freezes_the_loaded_application_and_sets_the_thresholds(interpreter_gc) -> None:
    assert gc.get_threshold() != parse_thresholds(DEFAULT_THRESHOLDS), "the test process starts untuned"
    frozen_before = gc.get_freeze_count()
    # In a thread of its own: the browser tests leave Playwright's event loop in this one.
    assert run_loop(_lifespan()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert gc.get_threshold() == (20000, 20, 50)
    assert gc.get_freeze_count() > frozen_before + 10_000, "the loaded application was not frozen"


@pytest.mark.parametrize("raw", ["20000,20", "0,10,10", "a,b,c", "", "1,2,3,4", "-5,10,10"])
def test_a_bad_setting_is_refused_by_name(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="INVOKER_GC_THRESHOLDS must be three positive integers"):
        parse_thresholds(raw)


def test_the_settings_refuse_a_bad_value_when_they_load() -> None:
    env = {**os.environ, "INVOKER_GC_THRESHOLDS": "700,ten,10"}
    env["DJANGO_SETTINGS_MODULE"] = "invoker_web.settings"
    setup = [sys.executable, "-c", "import django; django.setup()"]
    done = subprocess.run(setup, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode != 0
    expected = "INVOKER_GC_THRESHOLDS must be three positive integers like '20000,20,50', got '700,ten,10'"
    assert expected in done.stderr


def test_spaces_around_the_values_are_allowed() -> None:
    assert parse_thresholds(" 5000, 10 ,10") == (5000, 10, 10)
