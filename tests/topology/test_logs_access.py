"""The logs reads of the dashboard (invoker_web/logs.py) on a real local runtime: who may read
them (editors and operators, not viewers: docs/logs.md), the bounds, and a 4xx that names what is
wrong for an unknown deployment, pod or container and a line count out of range."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from invoker_web import logs as web_logs
from orchestrator.local import LocalBackend
from orchestrator.local.images import load_image_map
from orchestrator.local.process import Backoff
from orchestrator.local.runtime import Runtime
from orchestrator.reconciler.logs import MAX_LINES
from tests.orchestrator.local.helpers import deploy, manifest
from tests.polling import wait_until
from tests.topology.conftest import EXAMPLE_NAME

PRINTER = "import time\nfor i in range(300): print(f'line {i}', flush=True)\ntime.sleep(3600)\n"
IMAGES = {"test/printer": [sys.executable, "-c", PRINTER]}


@pytest.fixture
def running(example, settings, tmp_path: Path) -> Iterator[Runtime]:
    """The example's pods, run by a real local runtime whose containers print 300 lines."""
    state = Path(os.path.realpath(tmp_path)) / "s"
    settings.INVOKER_LOCAL_STATE_DIR = str(state)
    web_logs.reader.cache_clear()
    runtime = Runtime(
        state, load_image_map([json.dumps(IMAGES)]), Backoff(base=0.2, cap=1.6), env=dict(os.environ)
    )
    runtime.reset()
    source = manifest(EXAMPLE_NAME, executor="test/printer:1", io="test/printer:1", state="test/printer:1")
    deploy(LocalBackend(state), source)
    try:

        def printed() -> bool:  # every container of the pod, each started on its own
            runtime.sync()
            logs = state / "runtime" / "logs" / "default" / f"{EXAMPLE_NAME}.e-0"
            return all(
                (logs / f"{c}.log").exists() and "line 299" in (logs / f"{c}.log").read_text()
                for c in ("udf", "io", "state")
            )

        wait_until(printed, 30, "the pod to print its lines")
        yield runtime
    finally:
        runtime.shutdown()
        web_logs.reader.cache_clear()


def signed_in(personas, name: str) -> Client:
    client = Client()
    client.force_login(personas[name])
    return client


URL = f"/deployments/{EXAMPLE_NAME}/logs/"


def test_editors_and_operators_read_the_last_lines_of_each_container(running, personas) -> None:
    for persona in ("editor", "operator", "owner"):
        client = signed_in(personas, persona)
        pods = client.get(f"{URL}pods/").json()["pods"]
        assert pods == [
            {"pod": "e-0", "entity": "e", "phase": "Running", "containers": ["udf", "io", "state"]}
        ]
        for container in ("udf", "io", "state"):
            body = client.get(f"{URL}e-0/{container}/?lines=5").json()
            assert body["lines"] == [f"line {i}" for i in range(295, 300)], (persona, container)
            assert body["maxLines"] == MAX_LINES
        page = client.get(URL)
        assert page.status_code == 200
        assert b'id="log-text"' in page.content


def test_viewers_and_outsiders_may_not_read_logs_and_are_told_why(running, personas) -> None:
    for persona in ("viewer", "outsider"):
        client = signed_in(personas, persona)
        for path in ("pods/", "e-0/udf/?lines=5"):
            response = client.get(URL + path)
            assert response.status_code == 403, (persona, path)
            assert "your role does not allow reading logs" in response.json()["error"]["message"]
        assert client.get(URL).status_code == 403
    for path in ("", "pods/", "e-0/udf/"):  # signed out: to the login form, like every page
        anonymous = Client().get(URL + path)
        assert (anonymous.status_code, anonymous["Location"][:16]) == (302, "/accounts/login/")


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("e-9/udf/", 404, "deployment 'word-count-demo' has no pod 'e-9' (its pods: e-0)"),
        ("e-0/sidecar/", 400, "container 'sidecar' is not one of udf, io, state"),
        ("e-0/udf/?lines=0", 400, f"lines must be from 1 to {MAX_LINES}, not 0"),
        (f"e-0/udf/?lines={MAX_LINES + 1}", 400, f"lines must be from 1 to {MAX_LINES}, not {MAX_LINES + 1}"),
        ("e-0/udf/?lines=ten", 400, f"lines must be a whole number from 1 to {MAX_LINES}, not 'ten'"),
    ],
)
def test_bad_requests_get_a_4xx_naming_what_is_wrong(running, personas, path, status, message) -> None:
    response = signed_in(personas, "editor").get(URL + path)
    assert response.status_code == status
    assert response.json()["error"]["message"] == message


def test_an_unknown_deployment_is_named(db, personas) -> None:
    response = signed_in(personas, "editor").get("/deployments/nothing-here/logs/e-0/udf/")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "deployment 'nothing-here' does not exist"
