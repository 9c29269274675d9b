"""Moving a partition and rebalancing an entity through the services."""

import pytest

from orchestrator import SpecError
from tests.topology.conftest import EXAMPLE_NAME
from topology_editor import services
from topology_editor.models import AuditEntry, Deployment, Interface, Pod
from topology_editor.spec_rows import spec_from_rows

CLI = {"actor": None, "interface": Interface.CLI}


def _owners(entity: str) -> dict[str, tuple[int, ...]]:
    return {pod.name: pod.partitions for pod in spec_from_rows(Deployment.objects.get()).entity(entity).pods}


def test_a_move_is_stored_with_a_revision_and_an_audit_entry(example):
    change = services.move_partition(EXAMPLE_NAME, "totals", 5, "totals-0", **CLI)
    assert not change.changed  # totals-0 already owns it
    change = services.move_partition(EXAMPLE_NAME, "splitter", 0, "splitter-2", **CLI)
    assert change.changed
    assert _owners("splitter") == {"splitter-0": (1,), "splitter-1": (2, 3), "splitter-2": (0, 4, 5)}
    assert (
        AuditEntry.objects.latest("id").summary
        == "moved partition 0 of splitter from splitter-0 to splitter-2"
    )


def test_nothing_is_moved_in_a_spec_that_no_longer_validates(example):
    Deployment.objects.update(history_limit=0)  # say, written by hand in the database
    with pytest.raises(SpecError):
        services.move_partition(EXAMPLE_NAME, "splitter", 0, "splitter-2", **CLI)
    assert Pod.objects.get(name="splitter-0").partitions == [0, 1]


def test_a_dry_run_plans_without_storing(example):
    services.add_pod(EXAMPLE_NAME, "splitter", {"name": "splitter-3"}, **CLI)
    result = services.rebalance_entity(EXAMPLE_NAME, "splitter", dry_run=True, **CLI)
    assert result.dry_run
    assert [(m.partition, m.from_pod, m.to_pod) for m in result.plan.moves] == [
        (5, "splitter-2", "splitter-3")
    ]
    assert _owners("splitter")["splitter-3"] == ()


def test_a_rebalance_stores_the_plans_assignment(example):
    services.add_pod(EXAMPLE_NAME, "splitter", {"name": "splitter-3"}, **CLI)
    result = services.rebalance_entity(EXAMPLE_NAME, "splitter", **CLI)
    assert result.change.changed
    expected = {"splitter-0": [0, 1], "splitter-1": [2, 3], "splitter-2": [4], "splitter-3": [5]}
    assert result.plan.assignment == expected
    assert _owners("splitter") == {pod: tuple(partitions) for pod, partitions in expected.items()}


def test_rebalancing_an_unknown_entity_is_not_found(example):
    with pytest.raises(services.NotFoundError):
        services.rebalance_entity(EXAMPLE_NAME, "nope", **CLI)


def test_rebalancing_an_unknown_deployment_is_not_found(db):
    with pytest.raises(services.NotFoundError):
        services.rebalance_entity("nowhere", "splitter", dry_run=True, **CLI)
