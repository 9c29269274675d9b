"""Creating, importing and replacing a whole spec: validation, one transaction, revision,
audit entry and reconcile request, or nothing at all."""

import pytest

from orchestrator import SpecError, parse_deployment, to_manifest
from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from topology_editor import services
from topology_editor.models import AuditEntry, Deployment, Interface, Pod, Revision, StatefulEntity
from topology_editor.spec_rows import spec_from_rows

CLI = {"actor": None, "interface": Interface.CLI}


def _with_history_limit(limit: int) -> dict:
    manifest = example_manifest()
    manifest["spec"]["historyLimit"] = limit
    return manifest


def _snapshot() -> tuple:
    """Everything a rejected change must leave as it was."""
    return (
        list(Deployment.objects.values_list("name", "resource_version", "history_limit")),
        list(StatefulEntity.objects.values_list("name", "input_topic", "position")),
        list(Pod.objects.values_list("name", "partitions", "resources")),
        list(Revision.objects.values_list("name", "number")),
        AuditEntry.objects.count(),
    )


def test_importing_the_example_stores_its_spec_as_revision_one(
    db, django_capture_on_commit_callbacks, reconciles
):
    with django_capture_on_commit_callbacks(execute=True):
        change = services.import_manifest(example_manifest(), **CLI)

    assert change.created
    assert change.changed
    deployment = Deployment.objects.get(name=EXAMPLE_NAME)
    assert spec_from_rows(deployment) == parse_deployment(example_manifest())
    assert deployment.resource_version == 1
    assert list(deployment.revisions.values_list("number", "name")) == [(1, change.revision.name)]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.interface, entry.actor, entry.actor_name) == ("create", "cli", None, "CLI")
    reconciles.assert_called_once()
    assert reconciles.call_args.args[0] == EXAMPLE_NAME


def test_saving_the_same_spec_again_records_nothing(example, django_capture_on_commit_callbacks, reconciles):
    before = _snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        change = services.import_manifest(example_manifest(), **CLI)

    assert not change.changed
    assert _snapshot() == before
    reconciles.assert_not_called()


def test_an_exported_spec_imports_as_the_identity(example):
    exported = to_manifest(spec_from_rows(example))
    change = services.import_manifest(exported, **CLI)
    assert not change.changed
    assert to_manifest(spec_from_rows(Deployment.objects.get())) == exported


def test_a_changed_spec_gets_a_new_revision_version_and_audit_entry(
    example, personas, django_capture_on_commit_callbacks, reconciles
):
    manifest = example_manifest()
    manifest["spec"]["statefulEntities"][1]["outputTopic"] = "totals"
    with django_capture_on_commit_callbacks(execute=True):
        change = services.update_deployment(
            EXAMPLE_NAME, manifest, actor=personas.editor, interface=Interface.API, expected_version=1
        )

    assert change.changed
    assert not change.created
    assert change.deployment.resource_version == 2
    assert list(example.revisions.values_list("number", flat=True)) == [2, 1]
    entry = AuditEntry.objects.filter(action="update").get()
    assert (entry.actor, entry.interface, entry.revision) == (personas.editor, "api", change.revision.name)
    assert entry.changes == [
        {
            "path": "spec.statefulEntities[totals].outputTopic",
            "change": "changed",
            "old": "counts",
            "new": "totals",
        }
    ]
    reconciles.assert_called_once()


def test_an_invalid_spec_is_rejected_whole_and_changes_nothing(
    example, django_capture_on_commit_callbacks, reconciles
):
    manifest = example_manifest()
    manifest["spec"]["historyLimit"] = 9
    manifest["spec"]["statefulEntities"][0]["pods"][1]["partitions"] = ["1"]
    before = _snapshot()
    with pytest.raises(SpecError) as raised, django_capture_on_commit_callbacks(execute=True):
        services.update_deployment(EXAMPLE_NAME, manifest, **CLI)

    assert [(e.path, e.code) for e in raised.value.errors] == [
        ("spec.statefulEntities[0].pods[1].partitions[0]", "duplicate")
    ]
    assert _snapshot() == before
    reconciles.assert_not_called()


def test_a_write_based_on_a_stale_version_changes_nothing(example, reconciles):
    before = _snapshot()
    with pytest.raises(services.StaleVersionError):
        services.update_deployment(EXAMPLE_NAME, _with_history_limit(9), expected_version=7, **CLI)
    assert _snapshot() == before


def test_a_deployment_cannot_be_renamed(example):
    manifest = example_manifest()
    manifest["metadata"]["name"] = "other"
    with pytest.raises(SpecError) as raised:
        services.update_deployment(EXAMPLE_NAME, manifest, **CLI)
    assert [(e.path, e.code) for e in raised.value.errors] == [("metadata.name", "immutable")]


def test_creating_a_taken_name_is_a_conflict(example):
    before = _snapshot()
    with pytest.raises(services.ConflictError):
        services.create_deployment(example_manifest(), **CLI)
    assert _snapshot() == before


def test_updating_an_unknown_deployment_is_not_found(db):
    with pytest.raises(services.NotFoundError):
        services.update_deployment("nowhere", example_manifest(), **CLI)


def test_reordering_pods_rewrites_rows_without_a_new_revision_or_reconcile(
    example, django_capture_on_commit_callbacks, reconciles
):
    manifest = example_manifest()
    manifest["spec"]["statefulEntities"][0]["pods"].reverse()
    with django_capture_on_commit_callbacks(execute=True):
        change = services.update_deployment(EXAMPLE_NAME, manifest, **CLI)

    assert change.changed
    assert change.deployment.resource_version == 2
    assert [pod.name for pod in spec_from_rows(example).entities[0].pods] == [
        "splitter-2",
        "splitter-1",
        "splitter-0",
    ]
    assert example.revisions.count() == 1
    reconciles.assert_not_called()


def test_deleting_keeps_the_audit_trail_and_asks_for_a_reconcile(
    example, personas, django_capture_on_commit_callbacks, reconciles
):
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_deployment(EXAMPLE_NAME, actor=personas.editor, interface=Interface.UI)

    assert not Deployment.objects.exists()
    assert not Revision.objects.exists()
    assert not Pod.objects.exists()
    deleted = AuditEntry.objects.get(action="delete")
    assert (deleted.deployment, deleted.deployment_name, deleted.actor_name) == (None, EXAMPLE_NAME, "editor")
    assert AuditEntry.objects.filter(deployment_name=EXAMPLE_NAME).count() == 2
    reconciles.assert_called_once()
    assert reconciles.call_args.args[0] == EXAMPLE_NAME
