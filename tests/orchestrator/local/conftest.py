"""Fixtures of the local backend's tests: a short state directory (Unix socket paths are limited
to ~107 bytes), a backend on it, and an in-process runtime whose processes are always stopped."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.local import LocalBackend
from orchestrator.local.images import load_image_map
from orchestrator.local.process import Backoff
from orchestrator.local.runtime import Runtime
from tests.executor.services import state_redis  # noqa: F401 (a fixture: a private state Redis)
from tests.orchestrator.local.helpers import TEST_IMAGES, RuntimeProcess

#: Fast back-off so that crash loops show within a second or two.
TEST_BACKOFF = Backoff(base=0.2, cap=1.6, stable=60.0)


@pytest.fixture
def state_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="inv-local-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def backend(state_dir: Path) -> LocalBackend:
    return LocalBackend(state_dir)


@pytest.fixture
def runtime(state_dir: Path) -> Iterator[Runtime]:
    images = load_image_map([json.dumps(TEST_IMAGES)])
    env = {**os.environ, "INVOKER_TEST_MARKER": "from-the-runtime"}
    runtime = Runtime(state_dir, images, TEST_BACKOFF, env=env, resync_seconds=1.0)
    runtime.reset()
    yield runtime
    runtime.shutdown()


@pytest.fixture
def start_runtime(state_dir: Path) -> Iterator[Callable[..., RuntimeProcess]]:
    """Starts runtime processes (test images by default); each is stopped, and checked, at the end."""
    started: list[RuntimeProcess] = []

    def start(
        images: dict[str, Any] | None = TEST_IMAGES, env: dict[str, str] | None = None
    ) -> RuntimeProcess:
        started.append(RuntimeProcess(state_dir, images, {**os.environ, **(env or {})}))
        return started[-1]

    yield start
    for runtime in started:
        runtime.stop()
