"""POST /api/deployments/{name}/entities/{entity}/rebalance/load/: the load-aware plan from the
rates the collector measured (kept in the real Redis), previewed or applied as one revision."""

from collections.abc import Iterator

import pytest

from tests.topology.conftest import EXAMPLE_NAME
from tests.topology.helpers import deployment_url, error, scale_out_totals, totals_partitions
from topology_editor import partition_rates
from topology_editor.models import AuditEntry, Deployment

URL = deployment_url(EXAMPLE_NAME, "entities", "totals", "rebalance", "load")
#: records/s of totals' six partitions: 1000 in all, 333 per pod on average over three pods.
RATES = [200, 200, 200, 150, 150, 100]


@pytest.fixture
def measured(redis_url: str) -> Iterator[None]:
    """Two collections 10 s apart, as the collector records them, in the real Redis."""
    partition_rates.clear(EXAMPLE_NAME)
    first = {"totals": {str(p): [0.0, 0.0, 0.0] for p in range(6)}}
    second = {"totals": {str(p): [r * 10.0, r * 1000.0, 0.0] for p, r in enumerate(RATES)}}
    partition_rates.record(EXAMPLE_NAME, first, 1000.0)
    partition_rates.record(EXAMPLE_NAME, second, 1010.0)
    yield
    partition_rates.clear(EXAMPLE_NAME)


@pytest.fixture
def scaled_out(example, measured) -> Deployment:
    """The example with two more, empty, pods for ``totals`` (which holds all six partitions)."""
    scale_out_totals(EXAMPLE_NAME)
    return Deployment.objects.get()


def test_the_preview_shows_each_pods_load_before_and_after_and_changes_nothing(api, scaled_out, reconciles):
    response = api("operator").post(URL, {"dry_run": True}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["dry_run"], body["changed"], body["resource_version"]) == (True, False, 3)
    assert body["before"] == pytest.approx({"totals-0": 1000, "totals-1": 0, "totals-2": 0})
    assert sorted(body["after"].values()) == pytest.approx([300, 350, 350])
    assert body["ratio_before"] == pytest.approx(3.0)
    assert body["ratio_after"] == pytest.approx(1.05)
    assert (len(body["moves"]), body["lower_bound"], body["optimal"]) == (4, 4, True)
    assert body["partitions"]["0"] == {"records_per_sec": 200, "bytes_per_sec": 20_000, "lag": 0, "load": 200}
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5), "totals-1": (), "totals-2": ()}
    reconciles.assert_not_called()


def test_apply_makes_one_revision_with_the_trigger_rebalance(
    api, scaled_out, django_capture_on_commit_callbacks, reconciles
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api("operator").post(URL, {}, format="json", HTTP_IF_MATCH='"3"')

    body = response.json()
    assert (response.status_code, body["dry_run"], body["changed"]) == (200, False, True)
    assert scaled_out.revisions.count() == 4
    assert {p for ps in totals_partitions().values() for p in ps} == set(range(6))
    assert len(totals_partitions()["totals-0"]) == 2
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == "rebalance"
    assert "rebalanced totals by load" in entry.summary
    reconciles.assert_called_once()
    reason = reconciles.call_args.args[1]
    assert "(rebalance by operator" in reason
    # The same request again finds nothing over the cap: no moves, no revision.
    again = api("operator").post(URL, {}, format="json").json()
    assert (again["moves"], again["changed"]) == ([], False)
    assert scaled_out.revisions.count() == 4


def test_even_by_count_stays_available(api, scaled_out):
    response = api("operator").post(
        deployment_url(EXAMPLE_NAME, "entities", "totals", "rebalance"), {}, format="json"
    )
    assert response.status_code == 200
    assert totals_partitions() == {"totals-0": (0, 1), "totals-1": (2, 3), "totals-2": (4, 5)}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target": 0.5}, "target"),
        ({"metric": "cpu"}, "metric"),
        ({"window_seconds": 0}, "window_seconds"),
        ({"window_seconds": "soon"}, "window_seconds"),
        ({"removed": ["nope"]}, "removed"),
        ({"removed": ["totals-0", "totals-1", "totals-2"]}, "removed"),
        ({"dry_run": "maybe"}, "dry_run"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api, scaled_out, reconciles, body, field):
    response = api("operator").post(URL, body, format="json")
    status, code, fields = error(response)
    assert (status, code) == (400, "invalid_request")
    assert [path for path, _ in fields] == [field]
    assert totals_partitions() == {"totals-0": (0, 1, 2, 3, 4, 5), "totals-1": (), "totals-2": ()}
    assert Deployment.objects.get().resource_version == 3
    reconciles.assert_not_called()


def test_without_measured_rates_it_says_so(api, example, redis_url):
    partition_rates.clear(EXAMPLE_NAME)
    response = api("operator").post(URL, {"dry_run": True}, format="json")
    assert error(response) == (400, "invalid_request", [("window_seconds", "no_data")])
    assert "no rates measured for entity 'totals'" in response.json()["error"]["fields"][0]["message"]


def test_an_unknown_entity_is_not_found(api, example, measured):
    url = deployment_url(EXAMPLE_NAME, "entities", "nope", "rebalance", "load")
    assert error(api("operator").post(url, {"dry_run": True}, format="json"))[:2] == (404, "not_found")


def test_a_stale_version_is_refused(api, scaled_out):
    response = api("operator").post(URL, {}, format="json", HTTP_IF_MATCH='"1"')
    assert error(response)[:2] == (412, "stale_version")
    assert totals_partitions()["totals-1"] == ()


@pytest.mark.parametrize("persona", ["editor", "viewer", "outsider", None])
def test_previewing_and_applying_need_the_operator_role(api, scaled_out, persona):
    for body in ({"dry_run": True}, {}):
        status = api(persona).post(URL, body, format="json").status_code
        assert status == (401 if persona is None else 403)
    assert totals_partitions()["totals-1"] == ()
