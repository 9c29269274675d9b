"""Private instances of the real servers, for tests that kill or restart them.

The shared Redis and Kafka that `./dev` runs serve every test running at the same time, so a
test that takes its server away gets its own: a redis-server on a free port in a temporary
directory, or a second Kafka broker started by the project's own script (`./dev start kafka`)
with its own ports and run directory. Both are the real programs, stopped when the test ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from tests.localpod import free_port
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]


class PrivateRedis:
    """A redis-server of the test's own, without persistence, as `./dev` runs the state store."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="inv-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; run ./dev setup")
        log = open(self.dir / "redis.log", "ab")  # noqa: SIM115 (owned by the child)
        args = ["--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [binary, *args, "--dir", str(self.dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until(self._answers, 20, f"a private redis-server on port {self.port}")

    def kill9(self) -> None:
        """SIGKILL: everything in memory is gone, as in a crash of the node."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def shutdown_nosave(self) -> None:
        """A clean stop that keeps nothing (`SHUTDOWN NOSAVE`), like `./dev down` of a Redis without disk."""
        client = redis.Redis.from_url(self.url)
        try:
            client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits
        finally:
            client.close()
        assert self.process is not None
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)

    def keys(self) -> int:
        client = redis.Redis.from_url(self.url)
        try:
            return int(client.dbsize())
        finally:
            client.close()

    def _answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()


class PrivateKafka:
    """A single-node broker of the test's own, through `./dev start/stop kafka` with private ports."""

    def __init__(self) -> None:
        self.port, self.controller_port = free_port(), free_port()
        self.run_dir = Path(tempfile.mkdtemp(prefix="inv-kafka-"))

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _dev(self, *args: str) -> None:
        env = {
            **os.environ,
            "INVOKER_RUN": str(self.run_dir),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KAFKA_START_TIMEOUT": "240",  # a loaded 2-core machine has taken over 90 s
        }
        subprocess.run([str(ROOT / "dev"), *args, "kafka"], env=env, check=True, timeout=240)

    def start(self) -> float:
        """Starts the broker; returns the monotonic time it first answered a metadata request,
        polled every 0.1 s beside `./dev start` (which polls more coarsely)."""
        answered: list[float] = []
        done = threading.Event()

        def probe() -> None:
            while not done.is_set() and not answered:
                if self.answers():
                    answered.append(time.monotonic())
                done.wait(0.1)

        thread = threading.Thread(target=probe, daemon=True)
        thread.start()
        try:
            self._dev("start")
            thread.join(timeout=30)
        finally:
            done.set()
        return answered[0] if answered else time.monotonic()

    def answers(self) -> bool:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                request_timeout_ms=1000,
                bootstrap_timeout_ms=1000,
                reconnect_backoff_max_ms=100,
            )
        except KafkaError:
            return False
        try:
            return bool(admin.describe_cluster().get("brokers"))
        except KafkaError:
            return False
        finally:
            admin.close()

    def stop(self) -> None:
        self._dev("stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.run_dir, ignore_errors=True)


class TransactionProbe:
    """Commits a one-record transaction every 0.1 s in a thread; records the first success after
    `start`: the moment the broker can do transactional work again, which after a restart comes
    some seconds after it answers metadata requests (it still loads its coordinators)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.committed_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout: float) -> float:
        self._thread.join(timeout)
        self._stop.set()
        if self.committed_at is None:
            raise AssertionError(f"no transaction committed on {self.bootstrap} within {timeout:.0f}s")
        return self.committed_at

    def _run(self) -> None:
        while not self._stop.is_set() and self.committed_at is None:
            if self._commit_one():
                self.committed_at = time.monotonic()
            else:
                self._stop.wait(0.1)

    def _commit_one(self) -> bool:
        try:
            producer = KafkaProducer(
                bootstrap_servers=self.bootstrap,
                transactional_id=f"probe-{self.topic}",
                max_block_ms=2000,
                request_timeout_ms=2000,
                reconnect_backoff_max_ms=100,
            )
        except KafkaError:
            return False
        try:
            producer.init_transactions()
            producer.begin_transaction()
            producer.send(self.topic, b"probe", partition=0)
            producer.commit_transaction()
            return True
        except KafkaError:
            return False
        finally:
            producer.close(timeout=0)


@pytest.fixture
def state_redis() -> Iterator[PrivateRedis]:
    """A redis-server of the test's own for the executors' state, which the test may kill.
    A fixture here, imported by the modules that use it, so it is written once."""
    server = PrivateRedis()
    try:
        server.start()
    except (RuntimeError, AssertionError) as exc:
        server.stop()
        pytest.fail(f"cannot start a private redis-server: {exc}")
    yield server
    server.stop()


@contextmanager
def running_private_kafka() -> Iterator[PrivateKafka]:
    """A broker of the caller's own on free ports, removed afterwards; a test fails (never skips)
    when it cannot start. Fixtures of any scope wrap this."""
    broker = PrivateKafka()
    try:
        broker.start()
    except subprocess.CalledProcessError as exc:
        broker.remove()
        pytest.fail(f"cannot start a private Kafka broker: {exc}")
    try:
        yield broker
    finally:
        broker.remove()
