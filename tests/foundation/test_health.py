"""Health probes: /healthz says the process answers; /readyz names each dependency that is down."""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private, real redis-server that a test may stop and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir = free_port(), workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: run ./dev setup"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("the private redis-server did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_healthz_answers_without_a_login(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency_by_name(db, client, redis_url: str, kafka_bootstrap: str) -> None:
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "redis", "kafka"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_names_redis_while_it_is_down_and_recovers(
    db, client, settings, private_redis, kafka_bootstrap
) -> None:
    settings.REDIS_URL = private_redis.url
    assert client.get("/readyz").status_code == 200

    private_redis.stop()
    down = client.get("/readyz")
    assert down.status_code == 503
    checks = down.json()["checks"]
    assert checks["redis"]["ok"] is False
    assert "ConnectionError" in checks["redis"]["error"]
    assert checks["database"]["ok"], "only the stopped service is named"
    assert checks["kafka"]["ok"], "only the stopped service is named"

    private_redis.start()
    assert client.get("/readyz").status_code == 200


def test_readyz_names_kafka_when_no_broker_answers(db, client, settings) -> None:
    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{free_port()}"
    settings.READINESS_TIMEOUT_SECONDS = 1.0
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["kafka"]["ok"] is False


def test_the_admin_needs_a_login(client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
