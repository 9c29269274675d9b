"""Changing one entity or pod: the whole resulting spec is validated and stored."""

import pytest

from orchestrator import SpecError
from tests.topology.conftest import EXAMPLE_NAME
from topology_editor import services
from topology_editor.models import AuditEntry, Deployment, Interface
from topology_editor.spec_rows import spec_from_rows

CLI = {"actor": None, "interface": Interface.CLI}


def _spec():
    return spec_from_rows(Deployment.objects.get())


def test_merge_patch_follows_rfc_7386():
    target = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}
    patch = {"a": None, "b": {"c": 4}, "e": [2], "f": {"g": None}}
    assert services.merge_patch(target, patch) == {"b": {"c": 4, "d": 3}, "e": [2], "f": {}}
    assert services.merge_patch(target, [1]) == [1]


def test_a_pod_added_to_one_entity_may_not_take_a_name_used_in_another(example):
    with pytest.raises(SpecError) as raised:
        services.add_pod(EXAMPLE_NAME, "splitter", {"name": "totals-0"}, **CLI)
    assert raised.value.errors[0].code == "duplicate"


def test_a_pod_is_renamed_by_replacing_it_and_the_old_one_stays_until_taken_over(example):
    services.update_pod(
        EXAMPLE_NAME, "totals", "totals-0", {"name": "sum-0", "partitions": list(range(6))}, **CLI
    )
    # Its partitions are handed over first (services.handover): the old pod owns nothing and
    # jobs.finish_drain removes it once sum-0 consumes them.
    pods = {pod.name: pod.partitions for pod in _spec().entity("totals").pods}
    assert pods == {"totals-0": (), "sum-0": tuple(range(6))}
    assert AuditEntry.objects.latest("id").summary == "changed pod totals-0 of entity totals"


def test_removing_an_entity_removes_its_pods(example):
    services.remove_entity(EXAMPLE_NAME, "splitter", **CLI)
    assert [entity.name for entity in _spec().entities] == ["totals"]


@pytest.mark.parametrize(
    "call",
    [
        lambda: services.update_entity(EXAMPLE_NAME, "nope", {}, **CLI),
        lambda: services.remove_entity(EXAMPLE_NAME, "nope", **CLI),
        lambda: services.add_pod(EXAMPLE_NAME, "nope", {"name": "x"}, **CLI),
        lambda: services.remove_pod(EXAMPLE_NAME, "splitter", "nope", **CLI),
        lambda: services.remove_pod("nowhere", "splitter", "splitter-0", **CLI),
    ],
)
def test_naming_a_missing_part_is_not_found(example, call):
    with pytest.raises(services.NotFoundError):
        call()
    assert Deployment.objects.get().resource_version == 1
