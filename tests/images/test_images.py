"""The container images `./dev images` builds (scripts/services/images.sh), each started with a
real OCI runtime (umoci + runc, tests/images/runtime.py) under the chart's container security:
read-only root, /tmp on a tmpfs, no capabilities, the image's own non-root user.

Every image's entry point must answer: the dashboard serves /healthz and its collected static
files with DEBUG off, and runs the chart's migration and Celery commands; the io sidecar serves
its metrics; the state sidecar and the UDF hosts answer on their Unix sockets in a directory
shared like the pod's emptyDir. Without their environment they stop with a message naming what
is missing. No image holds a test tool.

These tests fail, never skip, when the images or the tools are missing: `./dev images` builds
them (and `./dev test` does so first). They run the images images.json lists; one more test
fails when those are not the images of the repository's current sources (stale).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.batch import run_batch
from executor.protocol import Client, RemoteError
from executor.samples import word_count
from tests.images.runtime import (
    CONFIG_DIR,
    MANIFEST,
    ROOT,
    SOCKET_DIR,
    Container,
    ImagesMissingError,
    Runtime,
    current_images,
    read_archive,
    unpacked,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

BASE = "python"
DASHBOARD = "dashboard"
EXECUTOR_IMAGES = ["io-sidecar", "state-sidecar", "executor-word-count", "executor-sum"]
APP_IMAGES = [DASHBOARD, *EXECUTOR_IMAGES]
UDF_IMAGES = {
    "executor-word-count": "executor.samples.word_count:udf",
    "executor-sum": "executor.samples.sum:udf",
}
UID = 10001
#: Never in an image, whatever requirements-test.txt says today.
TEST_TOOLS = {"pytest", "ruff", "hypothesis", "playwright", "coverage", "mypy", "tox", "selenium", "nose"}
#: A package each image must hold, so a scan that found nothing cannot pass.
EXPECTED_PACKAGE = {
    DASHBOARD: "django",
    "io-sidecar": "kafka-python",
    "state-sidecar": "redis",
    "executor-word-count": "msgpack",
    "executor-sum": "msgpack",
}
DASHBOARD_ENV = {
    "SECRET_KEY": "images-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1",
    "DATABASE_URL": "sqlite:////tmp/invoker.sqlite3",
}
POD_ENV = {"POD_NAME": "images-test-0", "INVOKER_CONFIG_DIR": CONFIG_DIR, "INVOKER_SOCKET_DIR": SOCKET_DIR}


@pytest.fixture(scope="session")
def images() -> dict[str, dict[str, str]]:
    """images.json's entries; fails when a tool, the manifest or an archive is missing."""
    if os.geteuid() != 0:
        pytest.fail("running the images needs root (runc); run the tests as root, as ./dev test does")
    tools = [tool for tool in ("umoci", "runc", "nsenter", "buildah") if shutil.which(tool) is None]
    if tools:
        pytest.fail(f"missing tools: {', '.join(tools)}; `./dev images` installs them")
    if not MANIFEST.is_file():
        pytest.fail(f"no {MANIFEST}: run ./dev images")
    listed = json.loads(MANIFEST.read_text())["images"]
    missing = sorted({BASE, *APP_IMAGES} - set(listed))
    missing += [name for name, entry in listed.items() if not Path(entry["archive"]).is_file()]
    if missing:
        pytest.fail(f"images missing: {', '.join(missing)}; run ./dev images")
    return listed


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    return Runtime(tmp_path_factory.mktemp("runc"))


@pytest.fixture(scope="session")
def bundle(images: dict[str, dict[str, str]]):
    """bundle(name): the image's unpacked runtime bundle."""

    def get(name: str) -> Path:
        try:
            return unpacked(name, images[name]["ref"], Path(images[name]["archive"]))
        except (RuntimeError, ImagesMissingError) as exc:
            pytest.fail(f"cannot unpack {name}: {exc}")

    return get


@pytest.fixture
def pod_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(socket dir, config dir), owned by the images' user like the pod's emptyDir with fsGroup."""
    sockets, config = tmp_path / "sockets", tmp_path / "config"
    for directory in (sockets, config):
        directory.mkdir()
        os.chown(directory, UID, UID)
        directory.chmod(0o770)
    return sockets, config


@pytest.fixture
def started(runtime: Runtime) -> Iterator[list[Container]]:
    """Containers a test started; removed even when the test fails."""
    containers: list[Container] = []
    yield containers
    for container in containers:
        container.remove()


def binds(pod_dirs: tuple[Path, Path]) -> dict[str, Path]:
    sockets, config = pod_dirs
    return {SOCKET_DIR: sockets, CONFIG_DIR: config}


def wait_for(predicate, what: str, container: Container, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if not container.running():
            pytest.fail(f"the container exited while waiting for {what}: {container.output()}")
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}: {container.output()}")


def http_get(container: Container, url: str, headers: dict[str, str] | None = None):
    """(status, body) of a GET from inside the container's network namespace, or None."""
    code = (
        "import json, sys, urllib.request\n"
        f"request = urllib.request.Request({url!r}, headers={headers or {}!r})\n"
        "with urllib.request.urlopen(request, timeout=5) as r:\n"
        "    json.dump([r.status, r.read().decode()], sys.stdout)\n"
    )
    result = container.in_netns(code)
    return tuple(json.loads(result.stdout)) if result.returncode == 0 else None


def distributions(rootfs: Path) -> set[str]:
    """Normalized names of every Python distribution installed anywhere in the image."""
    found = set()
    venv, system = "opt/venv/lib/python3*/site-packages/*.dist-info", "usr/lib/python3*/*-packages/*.*-info"
    for pattern in (venv, system):
        for info in rootfs.glob(pattern):
            found.add(normalize(info.name.split("-")[0]))
    return found


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==", line.strip())
        if match:
            names.add(normalize(match.group(1)))
    return names


# --- the archives and their manifest ----------------------------------------------------------


def test_the_images_are_those_of_the_current_sources(images) -> None:
    stale = {
        name: f"{images[name]['ref']} was built; the sources now make {image['ref']}"
        for name, image in current_images().items()
        if (images[name]["ref"], images[name]["archive"]) != (image["ref"], image["archive"])
    }
    assert not stale, f"stale images (run ./dev images): {stale}"


def test_the_manifest_names_every_image_with_its_archive_ref_and_key(images) -> None:
    manifest = images
    assert set(manifest) == {BASE, *APP_IMAGES}
    for name, entry in manifest.items():
        assert re.fullmatch(r"[0-9a-f]{16}", entry["key"])
        assert Path(entry["archive"]).name == f"{name}-{entry['key']}.oci.tar"
        index, config = read_archive(Path(entry["archive"]))
        (descriptor,) = index["manifests"]
        assert descriptor["annotations"]["org.opencontainers.image.ref.name"] == entry["ref"]
        assert config["config"]["Labels"]["io.invoker.cache-key"] == entry["key"]
        assert entry["archive_bytes"] == Path(entry["archive"]).stat().st_size
    tsv = (MANIFEST.parent / "images.tsv").read_text().splitlines()
    assert {line.split("\t")[0]: line.split("\t")[1] for line in tsv[1:]} == {
        name: entry["ref"] for name, entry in manifest.items()
    }


def test_the_base_is_debians_python_3_11(bundle, runtime) -> None:
    probe = (
        "import sqlite3, ssl, sys, venv, zoneinfo\n"
        "release = dict(line.split('=', 1) for line in open('/etc/os-release').read().splitlines() if line)\n"
        "print(sys.version_info[:2], release['VERSION_ID'], sys.executable)"
    )
    result = runtime.run(bundle(BASE), args=["python", "-c", probe])
    assert result.code == 0, result.stderr
    assert result.stdout.split() == ["(3,", "11)", '"12"', "/usr/bin/python"]


# --- every image: non-root, no test tools -----------------------------------------------------


@pytest.mark.parametrize("name", APP_IMAGES)
def test_the_image_runs_as_a_non_root_user(name, images, bundle, runtime) -> None:
    _index, config = read_archive(Path(images[name]["archive"]))
    assert config["config"]["User"] == f"{UID}:{UID}"
    probe = "import os; print(os.getuid(), os.geteuid(), os.getgid(), os.getegid())"
    result = runtime.run(bundle(name), args=["python", "-c", probe])
    assert result.code == 0, result.stderr
    assert result.stdout.split() == [str(UID)] * 4


@pytest.mark.parametrize("name", APP_IMAGES)
def test_the_image_holds_no_test_tools(name, bundle) -> None:
    rootfs = bundle(name) / "rootfs"
    installed = distributions(rootfs)
    assert EXPECTED_PACKAGE[name] in installed, f"the scan found no {EXPECTED_PACKAGE[name]}: {installed}"
    test_only = pinned(ROOT / "requirements-test.txt") - pinned(ROOT / "requirements.txt")
    assert "pytest" in test_only
    assert not installed & (test_only | TEST_TOOLS)
    for directory in ("opt/venv/bin", "usr/bin", "usr/local/bin"):
        commands = {p.name for p in (rootfs / directory).glob("*")}
        assert not {"pytest", "py.test", "ruff", "playwright"} & commands
    assert not (rootfs / "app" / "tests").exists()
    assert not list((rootfs / "app").glob("requirements*.txt"))
    # pip leaves every image but the UDF one, which user images extend (docs/images.md).
    assert ("pip" in installed) == (name in UDF_IMAGES)


# --- the dashboard ----------------------------------------------------------------------------


def test_the_dashboard_serves_healthz_and_its_static_files_with_debug_off(bundle, runtime, started) -> None:
    dashboard = runtime.start(bundle(DASHBOARD), env=DASHBOARD_ENV)  # the image's own command
    started.append(dashboard)
    status, body = wait_for(
        lambda: http_get(dashboard, "http://127.0.0.1:8000/healthz"), "/healthz", dashboard
    )
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    # Behind the ingress (X-Forwarded-Proto), the login page links the static files collected at
    # build time under their hashed names, and WhiteNoise serves them from the read-only image.
    https = {"X-Forwarded-Proto": "https"}
    status, page = http_get(dashboard, "http://127.0.0.1:8000/admin/login/", https)
    assert status == 200
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, page[:500]
    status, css = http_get(dashboard, f"http://127.0.0.1:8000{stylesheet.group(1)}", https)
    assert status == 200
    assert "body" in css
    assert dashboard.stop() == 0, dashboard.output()


def test_the_dashboard_refuses_to_start_without_its_secret_key(bundle, runtime) -> None:
    env = {k: v for k, v in DASHBOARD_ENV.items() if k != "SECRET_KEY"}
    result = runtime.run(bundle(DASHBOARD), env=env)
    assert result.code != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_the_dashboard_runs_the_charts_migration_and_celery_commands(bundle, runtime) -> None:
    image = bundle(DASHBOARD)
    migrate = runtime.run(image, args=["python", "manage.py", "migrate", "--noinput"], env=DASHBOARD_ENV)
    assert migrate.code == 0, migrate.stderr
    assert "Applying topology_editor.0001_initial... OK" in migrate.stdout
    report = runtime.run(image, args=["celery", "--app=invoker_web", "report"], env=DASHBOARD_ENV)
    assert report.code == 0, report.stderr
    assert "celery:" in report.stdout
    assert "loader   -> celery.loaders.app.AppLoader" in report.stdout


# --- the executor images ----------------------------------------------------------------------


@pytest.mark.parametrize("name", EXECUTOR_IMAGES)
def test_without_its_environment_the_entry_point_names_what_is_missing(name, bundle, runtime) -> None:
    result = runtime.run(bundle(name))
    assert result.code == 1, result.stderr
    assert "EnvError: environment variable POD_NAME is required" in result.stderr


@pytest.mark.parametrize("name", EXECUTOR_IMAGES)
def test_the_image_holds_the_pod_contract_and_no_test_harness(name, bundle, runtime) -> None:
    """The executor reads its config through the pod contract package; the local test harness
    (tests/localpod.py, once executor/localpod.py) stays out of the image."""
    app = bundle(name) / "rootfs" / "app"
    assert (app / "podcontract" / "files.py").is_file()
    assert not (app / "executor" / "localpod.py").exists()
    probe = "import executor.config as c, podcontract.env as e; print(e.METRICS_PORT, c.MainConfig.parse)"
    result = runtime.run(bundle(name), args=["python", "-c", probe])
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("9400 <bound method MainConfig.parse"), result.stdout


@pytest.mark.parametrize("name", sorted(UDF_IMAGES))
def test_the_udf_image_serves_its_sample_on_the_shared_socket(
    name, bundle, runtime, started, pod_dirs
) -> None:
    host = runtime.start(bundle(name), env=POD_ENV, binds=binds(pod_dirs))
    started.append(host)
    sockets, _config = pod_dirs
    socket_path = sockets / "udf.sock"
    wait_for(socket_path.exists, "udf.sock", host)
    assert socket_path.stat().st_uid == UID
    client = Client(socket_path, "udf host", patience=10)
    try:
        hello = client.call("hello")
        assert (hello["udf"], hello["stateful"]) == (UDF_IMAGES[name], name == "executor-sum")
        if name == "executor-word-count":
            batch = {0: [(None, b"to be or not to be", 0, 0)], 3: [(None, b"be quick", 1, 0)]}
            answer = client.call("process", partitions={p: list(map(list, rs)) for p, rs in batch.items()})
            expected = run_batch(word_count.udf, batch, lambda keys: {})
            assert answer["records"] == 2
            outputs = {int(p): [tuple(o) for o in out] for p, out in answer["outputs"].items()}
            assert outputs == expected.outputs
    finally:
        client.close()
    assert (sockets / "starts" / "udf").read_text() == "1"
    assert host.stop() == 0, host.output()


def test_the_udf_image_rejects_a_malformed_udf_reference(bundle, runtime, pod_dirs) -> None:
    result = runtime.run(
        bundle("executor-word-count"),
        args=["python", "-m", "executor.udf_host", "no-colon-here"],
        env=POD_ENV,
        binds=binds(pod_dirs),
    )
    assert result.code == 1
    assert "UDF reference must look like 'package.module:attribute', got 'no-colon-here'" in result.stderr


def test_the_state_sidecar_answers_on_the_shared_socket(bundle, runtime, started, pod_dirs) -> None:
    sockets, _config = pod_dirs
    sidecar = runtime.start(bundle("state-sidecar"), env=POD_ENV, binds=binds(pod_dirs))
    started.append(sidecar)
    socket_path = sockets / "state.sock"
    wait_for(socket_path.exists, "state.sock", sidecar)
    client = Client(socket_path, "state sidecar", patience=10)
    try:
        with pytest.raises(RemoteError, match="unknown op 'no-such-op'") as raised:
            client.call("no-such-op")
        assert raised.value.kind == "ValueError"
    finally:
        client.close()
    assert (sockets / "starts" / "state").read_text() == "1"
    assert sidecar.stop() == 0, sidecar.output()


def test_the_io_sidecar_serves_its_metrics_while_it_waits_for_its_config(
    bundle, runtime, started, pod_dirs
) -> None:
    sockets, _config = pod_dirs
    sidecar = runtime.start(bundle("io-sidecar"), env=POD_ENV, binds=binds(pod_dirs))
    started.append(sidecar)
    status, body = wait_for(lambda: http_get(sidecar, "http://127.0.0.1:9400/metrics"), "/metrics", sidecar)
    assert status == 200
    assert "# TYPE invoker_records_in_total counter" in body
    assert (sockets / "starts" / "io").read_text() == "1"
    assert sidecar.stop() == 0, sidecar.output()
