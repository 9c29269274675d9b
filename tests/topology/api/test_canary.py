"""/api/deployments/{name}/entities/{entity}/canary/ (issue 16, item 5): a new UDF image on
chosen pods, promoted one pod at a time or aborted; each step one revision with its trigger in
the audit, partitions never moved; bad input changes nothing; viewers read, operators act."""

from unittest import mock

import pytest

from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error
from topology_editor.models import AuditEntry, Deployment
from topology_editor.revision_history import trigger_of
from topology_editor.services import canary
from topology_editor.spec_rows import spec_from_rows

URL = deployment_url(EXAMPLE_NAME, "entities", "splitter", "canary")
NEW = "invoker/executor-word-count:0.2"
OLD = "invoker/executor-word-count:0.1"


def images() -> dict[str, str | None]:
    """Each splitter pod's own image (None: the entity's), and the entity's under ``entity``."""
    splitter = spec_from_rows(Deployment.objects.get()).entity("splitter")
    return {"entity": splitter.executor_image, **{p.name: p.executor_image for p in splitter.pods}}


def partitions() -> dict[str, tuple[int, ...]]:
    return {p.name: p.partitions for p in spec_from_rows(Deployment.objects.get()).entity("splitter").pods}


@pytest.fixture
def queued() -> mock.MagicMock:
    with mock.patch.object(canary.current_app, "send_task") as send_task:
        yield send_task


@pytest.fixture
def started(api, example):
    response = api("operator").post(URL, {"pods": ["splitter-1"], "image": NEW}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_canary_runs_the_new_image_on_the_chosen_pods_only(api, started):
    assert started["canary"] == {
        "running": True,
        "image": NEW,
        "current_image": OLD,
        "canary_pods": ["splitter-1"],
        "stable_pods": ["splitter-0", "splitter-2"],
    }
    assert images() == {"entity": OLD, "splitter-0": None, "splitter-1": NEW, "splitter-2": None}
    assert partitions() == {"splitter-0": (0, 1), "splitter-1": (2, 3), "splitter-2": (4, 5)}
    assert api("viewer").get(URL).json() == started["canary"]
    pod = api("viewer").get(deployment_url(EXAMPLE_NAME, "entities", "splitter", "pods", "splitter-1")).json()
    assert pod["executorImage"] == NEW
    entry = AuditEntry.objects.filter(action="canary").get()
    assert entry.summary == f"canary of {NEW} on splitter-1 of splitter"
    assert trigger_of(entry.action, entry.interface) == "canary"


def test_promotion_goes_one_pod_at_a_time_until_the_image_is_the_entitys(
    api, started, queued, django_capture_on_commit_callbacks
):
    promote = f"{URL}promote/"
    with django_capture_on_commit_callbacks(execute=True):
        body = api("operator").post(promote, {}, format="json").json()
    assert body["promoted"] == "splitter-0"
    assert images() == {"entity": OLD, "splitter-0": NEW, "splitter-1": NEW, "splitter-2": None}
    promotions = [c for c in queued.call_args_list if c.args[0] == "jobs.promote_canary"]
    assert promotions == [
        mock.call("jobs.promote_canary", args=[EXAMPLE_NAME, "splitter", "splitter-0", NEW], countdown=1)
    ]

    assert api("operator").post(promote, {}, format="json").json()["promoted"] == "splitter-2"
    last = api("operator").post(promote, {}, format="json").json()
    assert (last["promoted"], last["canary"]["running"]) == (None, False)
    assert images() == {"entity": NEW, "splitter-0": None, "splitter-1": None, "splitter-2": None}
    assert partitions() == {"splitter-0": (0, 1), "splitter-1": (2, 3), "splitter-2": (4, 5)}
    summaries = (
        AuditEntry.objects.filter(action="canary_promote").order_by("id").values_list("summary", flat=True)
    )
    assert (
        list(summaries)[-1]
        == f"canary of {NEW} promoted to every pod of splitter: it is the entity's image now"
    )


def test_abort_returns_the_canary_pods_to_the_current_image(api, started):
    body = api("operator").post(f"{URL}abort/", {}, format="json").json()
    assert body["canary"]["running"] is False
    assert images() == {"entity": OLD, "splitter-0": None, "splitter-1": None, "splitter-2": None}
    assert AuditEntry.objects.filter(action="canary_abort").count() == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"pods": ["nope"], "image": NEW}, (400, "invalid_request", [("pods", "not_found")])),
        ({"pods": [], "image": NEW}, (400, "invalid_request", [("pods", "conflict")])),
        (
            {"pods": ["splitter-0", "splitter-1", "splitter-2"], "image": NEW},
            (400, "invalid_request", [("pods", "conflict")]),
        ),
        ({"pods": ["splitter-0"], "image": OLD}, (400, "invalid_request", [("image", "invalid_value")])),
        (
            {"pods": ["splitter-0"], "image": "Not An Image!"},
            (400, "invalid_spec", [("spec.statefulEntities[0].pods[0].executorImage", "invalid_value")]),
        ),
        ({"pods": ["splitter-0"]}, (400, "invalid_request", [("image", "required")])),
    ],
)
def test_a_bad_canary_is_refused_naming_the_field_and_changes_nothing(api, example, body, expected):
    before = (Deployment.objects.get().resource_version, AuditEntry.objects.count())
    assert error(api("operator").post(URL, body, format="json")) == expected
    assert (Deployment.objects.get().resource_version, AuditEntry.objects.count()) == before


@pytest.mark.parametrize("step", ["promote", "abort"])
def test_promoting_or_aborting_without_a_canary_is_refused(api, example, step):
    response = api("operator").post(f"{URL}{step}/", {}, format="json")
    assert error(response) == (400, "invalid_request", [("entity", "conflict")])


def test_viewers_and_editors_read_the_canary_but_cannot_act(api, started):
    for persona in ("viewer", "editor"):
        assert api(persona).get(URL).status_code == 200
        for path in ("", "promote/", "abort/"):
            response = api(persona).post(
                f"{URL}{path}", {"pods": ["splitter-0"], "image": NEW}, format="json"
            )
            assert response.status_code == 403
    assert images()["splitter-1"] == NEW
