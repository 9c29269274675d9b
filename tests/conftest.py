"""Session fixtures for the real services the tests need.

A test that asks for a service gets the real one the project's scripts started (`./dev test`
starts them all) and fails, never skips, when it is not there: a skipped test did not run.
Tests that use a service or the database are marked `services` (and `db`) automatically, so
`-m "not services"` selects the pure-logic tests.
"""

import os
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as redis_lib
from channels.layers import channel_layers
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from tests.isolation import TEST_REDIS_URL

ROOT = Path(__file__).resolve().parent.parent
SERVICE_FIXTURES = {
    "redis_url",
    "kafka_bootstrap",
    "celery_worker_process",
    "live_server",
    "kube_cluster",
}
DB_FIXTURES = {"db", "transactional_db", "django_db_setup", "client", "admin_client", "django_user_model"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        uses_db = bool(fixtures & DB_FIXTURES) or item.get_closest_marker("django_db") is not None
        if uses_db:
            item.add_marker(pytest.mark.db)
        if uses_db or fixtures & SERVICE_FIXTURES:
            item.add_marker(pytest.mark.services)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: touches the database; run again on PostgreSQL by ./dev test")


#: Files listed by the summary of where a run's time went.
SLOWEST_FILES = 15


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The files the run spent most time in (set-up, call and tear-down of every test): the suite's
    budget is spent per file, where ``--durations`` shows single tests only."""
    per_file: dict[str, float] = defaultdict(float)
    counted: dict[str, int] = defaultdict(int)
    for reports in terminalreporter.stats.values():
        for report in reports:
            if isinstance(report, pytest.TestReport):
                path = report.nodeid.split("::")[0]
                per_file[path] += report.duration
                counted[path] += report.when == "call"
    if not per_file:
        return
    terminalreporter.write_sep("=", f"slowest {SLOWEST_FILES} files (of {len(per_file)})")
    for path, seconds in sorted(per_file.items(), key=lambda item: -item[1])[:SLOWEST_FILES]:
        terminalreporter.write_line(f"{seconds:8.1f}s {counted[path]:5d} tests  {path}")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", TEST_REDIS_URL)  # tests.isolation sets it, never to database 0
    client = redis_lib.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis_lib.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {url} ({exc}); start it with `./dev start redis`")
    finally:
        client.close()
    return url


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    """Each test gets a channel layer of its own: channels_redis binds its receive lock to the event
    loop of the first receive, so a test that ends mid-receive (a timeout on a loaded machine)
    would leave the next test's loop a lock it cannot take, and that test would fail instead."""
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _own_rate_limit_counts(settings) -> None:
    """Sign-in failures and API requests are counted in the Redis cache (invoker_web/ratelimit.py):
    each test counts under a key prefix of its own, so none inherits another's lockout."""
    cache = {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    settings.CACHES = {**settings.CACHES, "default": cache}


def _kafka_answers(bootstrap: str) -> str | None:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    except KafkaError as exc:
        return str(exc)
    try:
        admin.describe_cluster()
    except KafkaError as exc:
        return str(exc)
    finally:
        admin.close()
    return None


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    error = _kafka_answers(bootstrap)
    if error:
        pytest.fail(f"Kafka is not reachable at {bootstrap} ({error}); start it with `./dev start kafka`")
    return bootstrap


@pytest.fixture
def suffix() -> str:
    """Appended to a test's Kafka topic names, so runs never collide with each other or `./dev up`."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def admin(kafka_bootstrap: str, suffix: str) -> Iterator[KafkaAdminClient]:
    """An admin client of the real broker; the topics named with the test's ``suffix`` are deleted
    afterwards."""
    client = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    yield client
    mine = [name for name in client.list_topics() if name.endswith(suffix)]
    if mine:
        client.delete_topics(mine)
    client.close()


@dataclass
class WorkerProcess:
    """A real Celery worker process consuming one private queue through the real Redis broker."""

    queue: str
    hostname: str
    process: subprocess.Popen


def _wait_for_worker(hostname: str, process: subprocess.Popen, deadline_s: float = 60) -> None:
    import time

    from invoker_web.celery import app

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the Celery worker exited with {process.returncode}")
        if app.control.ping(destination=[hostname], timeout=0.5):
            return
    pytest.fail(f"the Celery worker {hostname} did not answer within {deadline_s}s")


@pytest.fixture(scope="session")
def celery_worker_process(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    suffix = uuid.uuid4().hex[:8]
    queue, hostname = f"test-{suffix}", f"test-{suffix}@localhost"
    log = (tmp_path_factory.mktemp("celery") / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "invoker_web", "worker", "--pool", "solo", "-Q", queue,
         "--hostname", hostname, "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env={**os.environ, "REDIS_URL": redis_url}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for_worker(hostname, process)
        yield WorkerProcess(queue, hostname, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@dataclass
class KubeCluster:
    """The real control plane started by ./dev (etcd, kube-apiserver, controller-manager,
    scheduler, KWOK), with the operations tests need to take the API server away and back."""

    kubeconfig: str

    def stop_apiserver(self) -> None:
        subprocess.run([str(ROOT / "dev"), "stop", "kube_apiserver"], check=True, timeout=120)

    def start_apiserver(self) -> None:
        subprocess.run([str(ROOT / "dev"), "start", "kube_apiserver"], check=True, timeout=180)


def _install_crd(kubeconfig: str) -> None:
    import yaml
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api = client.ApiextensionsV1Api(config.new_client_from_config(config_file=kubeconfig))
    crd = yaml.safe_load((ROOT / "charts/invoker/crds/invokerdeployments.yaml").read_text())
    try:
        api.create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
        current = api.read_custom_resource_definition(crd["metadata"]["name"])
        crd["metadata"]["resourceVersion"] = current.metadata.resource_version
        api.replace_custom_resource_definition(crd["metadata"]["name"], crd)
    _wait_established(api, crd["metadata"]["name"])


def _wait_established(api, name: str) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        conditions = api.read_custom_resource_definition(name).status.conditions or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return
        time.sleep(0.2)
    pytest.fail(f"CRD {name} never became Established")


@pytest.fixture(scope="session")
def kube_cluster() -> KubeCluster:
    run_dir = Path(os.environ.get("INVOKER_RUN", Path.home() / ".cache/invoker/run"))
    kubeconfig = os.environ.get("INVOKER_TEST_KUBECONFIG", str(run_dir / "kube" / "kubeconfig"))
    from kubernetes import client, config

    try:
        client.VersionApi(config.new_client_from_config(config_file=kubeconfig)).get_code()
    except Exception as exc:  # any failure means the cluster is not usable
        pytest.fail(
            f"the Kubernetes API is not reachable with {kubeconfig} ({exc}); start it with `./dev start kube`"
        )
    _install_crd(kubeconfig)
    return KubeCluster(kubeconfig)
