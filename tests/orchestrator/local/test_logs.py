"""Container logs from the local runtime (orchestrator.reconciler.logs.LocalLogs): the last N lines of a
container a real runtime runs, then what it gains, bounded in lines and bytes, with errors that
name the unknown pod, container or line count."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.local import LocalBackend
from orchestrator.local.images import load_image_map
from orchestrator.local.runtime import Runtime
from orchestrator.reconciler.logs import (
    MAX_BYTES,
    MAX_LINES,
    LocalLogs,
    LogNotFoundError,
    LogRequestError,
    last_lines,
)
from tests.orchestrator.local.conftest import TEST_BACKOFF
from tests.orchestrator.local.helpers import TEST_IMAGES, deploy, manifest, sync_until, wait_until

#: Prints numbered lines forever, a few a second; the first line is 4 KB wide, then short ones.
COUNTER = (
    "import sys, time\n"
    "print('wide ' + 'x' * 4096, flush=True)\n"
    "i = 0\n"
    "while True:\n"
    "    print(f'line {i}', flush=True); i += 1; time.sleep(0.02)\n"
)
#: Writes 600 KB of 1001-byte lines (with the newline) at once, then sleeps: more than one read may return.
FLOOD = "import time\nfor i in range(600): print(f'{i:06d} ' + 'y' * 993, flush=True)\ntime.sleep(3600)\n"
IMAGES = {
    **TEST_IMAGES,
    "test/counter": [sys.executable, "-c", COUNTER],
    "test/flood": [sys.executable, "-c", FLOOD],
}


@pytest.fixture
def log_runtime(state_dir: Path) -> Iterator[Runtime]:
    runtime = Runtime(state_dir, load_image_map([json.dumps(IMAGES)]), TEST_BACKOFF, env=dict(os.environ))
    runtime.reset()
    yield runtime
    runtime.shutdown()


def numbers(lines: list[str]) -> list[int]:
    return [int(line.split()[1]) for line in lines if line.startswith("line ")]


def test_the_last_lines_of_a_container_then_what_it_gains_in_order(
    backend: LocalBackend, log_runtime: Runtime, state_dir: Path
) -> None:
    deploy(backend, manifest(executor="test/counter:1"))
    logs = LocalLogs(state_dir)
    sync_until(
        log_runtime, lambda: len(numbers(logs.tail("demo", "e-0", "udf", 50).lines)) >= 50, 30, "50 lines"
    )
    assert [p["pod"] for p in logs.pods("demo")] == ["e-0"]
    assert logs.pods("demo")[0]["containers"] == ["udf", "io", "state"]

    chunk = logs.tail("demo", "e-0", "udf", 50)
    assert len(chunk.lines) == 50
    first = numbers(chunk.lines)
    assert first == list(range(first[0], first[0] + 50))  # the newest 50, consecutive
    seen = list(first)
    for _ in range(3):
        chunk = wait_until(lambda c=chunk: (n := logs.follow("demo", c)).lines and n, 10, "more lines")
        seen += numbers(chunk.lines)
    assert seen == list(range(first[0], seen[-1] + 1))  # no gap, no line twice


def test_a_read_is_bounded_in_bytes_and_says_older_lines_were_left_out(
    backend: LocalBackend, log_runtime: Runtime, state_dir: Path
) -> None:
    deploy(backend, manifest(executor="test/flood:1"))
    logs = LocalLogs(state_dir)
    sync_until(
        log_runtime,
        lambda: any(line.startswith("000599") for line in logs.tail("demo", "e-0", "udf", 1).lines),
        30,
        "the flood to be written",
    )
    chunk = logs.tail("demo", "e-0", "udf", MAX_LINES)
    assert chunk.truncated
    assert sum(len(line) + 1 for line in chunk.lines) <= MAX_BYTES
    assert chunk.lines[-1].startswith("000599")
    assert len(chunk.lines) == MAX_BYTES // 1001  # whole lines of 1001 bytes: the cut one is dropped
    # A follow from the very start of the log returns at most MAX_BYTES as well.
    whole = logs.follow("demo", type(chunk)("e-0", "udf", [], cursor=(chunk.cursor[0], 0)))
    assert whole.truncated
    assert sum(len(line) + 1 for line in whole.lines) <= MAX_BYTES


def test_unknown_pods_containers_and_line_counts_are_named(
    backend: LocalBackend, log_runtime: Runtime, state_dir: Path
) -> None:
    deploy(backend, manifest(executor="test/counter:1"))
    logs = LocalLogs(state_dir)
    sync_until(log_runtime, lambda: logs.pods("demo"), 30, "the pod to be reported")
    with pytest.raises(LogNotFoundError, match=r"deployment 'demo' has no pod 'e-9' \(its pods: e-0\)"):
        logs.tail("demo", "e-9", "udf", 10)
    with pytest.raises(LogNotFoundError, match=r"deployment 'other' has no pod 'e-0' \(its pods: none\)"):
        logs.tail("other", "e-0", "udf", 10)
    with pytest.raises(LogRequestError, match=r"container 'sidecar' is not one of udf, io, state"):
        logs.tail("demo", "e-0", "sidecar", 10)
    for lines in (0, MAX_LINES + 1):
        with pytest.raises(LogRequestError, match=rf"lines must be from 1 to {MAX_LINES}, not {lines}"):
            logs.tail("demo", "e-0", "udf", lines)
    with pytest.raises(LogRequestError, match=r"pod '\.\./x' is not a pod name"):
        logs.tail("demo", "../x", "udf", 10)


def test_last_lines_drops_a_cut_first_line_and_keeps_the_newest() -> None:
    assert last_lines(b"a\nb\nc\n", 2, cut=False) == (["b", "c"], True)
    assert last_lines(b"a\nb\nc\n", 3, cut=False) == (["a", "b", "c"], False)
    assert last_lines(b"rtial\nb\nc\n", 5, cut=True) == (["b", "c"], True)
    assert last_lines(b"", 5, cut=False) == ([], False)
