"""Fixtures of the executor tests: a short run directory (Unix socket paths are limited to ~107
bytes) and word-count topologies whose processes and topics are always cleaned up."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.executor.harness import WordCountTopology

TEST_ENV = {"INVOKER_HANDOFF_GRACE_MS": "3000", "INVOKER_LOG_LEVEL": "INFO"}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def run_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="inv-", dir="/tmp"))
    yield path
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for log in sorted(path.glob("*-io.log")):
            lines = log.read_text(errors="replace").splitlines()[-25:]
            print(f"----- {log.name} (last {len(lines)} lines; all logs kept in {path})\n" + "\n".join(lines))
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def topology(
    kafka_bootstrap: str, redis_url: str, run_dir: Path
) -> Iterator[Callable[..., WordCountTopology]]:
    made: list[WordCountTopology] = []

    def make(counter_udf: str = "executor.samples.word_count:udf") -> WordCountTopology:
        name = f"wc-{uuid.uuid4().hex[:8]}"
        made.append(WordCountTopology(kafka_bootstrap, redis_url, run_dir, name, TEST_ENV, counter_udf))
        return made[-1]

    yield make
    for topo in made:
        topo.stop()
