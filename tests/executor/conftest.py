"""Fixtures of the executor tests: a short run directory (Unix socket paths are limited to ~107
bytes), word-count topologies whose processes and topics are always cleaned up, and private
servers for the tests that kill or restart them."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.executor.harness import WordCountTopology
from tests.executor.services import PrivateKafka, PrivateRedis, running_private_kafka, state_redis  # noqa: F401 (a fixture)

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
    if os.environ.get("INVOKER_TEST_KEEP_LOGS"):  # for reading the pods' logs of a passing test
        print(f"----- logs kept in {path}")
    elif report is not None and report.failed:
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

    def make(
        counter_udf: str = "executor.samples.word_count:udf",
        state_url: str | None = None,
        bootstrap: str | None = None,
    ) -> WordCountTopology:
        name = f"wc-{uuid.uuid4().hex[:8]}"
        made.append(
            WordCountTopology(
                bootstrap or kafka_bootstrap, state_url or redis_url, run_dir, name, TEST_ENV, counter_udf
            )
        )
        return made[-1]

    yield make
    for topo in made:
        topo.stop()


@pytest.fixture(scope="module")
def private_kafka() -> Iterator[PrivateKafka]:
    """A Kafka broker of this module's own (started by `./dev start kafka` on free ports), which
    tests may stop and restart without disturbing the shared one."""
    with running_private_kafka() as broker:
        yield broker
