"""Revisions: hash names, no new one for the same spec, re-use with the next number, pruning
beyond historyLimit but never the saved spec's nor the ones the orchestrator runs."""

from orchestrator import parse_deployment, revision_name
from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from tests.topology.helpers import manifest_with
from topology_editor import services
from topology_editor.models import Deployment, Interface

CLI = {"actor": None, "interface": Interface.CLI}


def _save(**spec) -> services.Change:
    return services.update_deployment(EXAMPLE_NAME, manifest_with(example_manifest(), **spec), **CLI)


def _history(deployment: Deployment) -> list[tuple[int, str]]:
    return list(deployment.revisions.order_by("number").values_list("number", "name"))


def test_a_revision_is_named_by_the_hash_of_its_spec(example):
    assert example.revisions.get().name == revision_name(parse_deployment(example_manifest()))


def test_the_same_spec_in_another_notation_is_the_same_revision(example):
    manifest = example_manifest()
    manifest["spec"]["statefulEntities"][1]["pods"][0]["partitions"] = ["5", "4", "3", "2", "1", "0"]
    change = services.update_deployment(EXAMPLE_NAME, manifest, **CLI)
    assert not change.changed
    assert example.revisions.count() == 1


def test_returning_to_an_earlier_spec_reuses_its_revision_with_the_next_number(example):
    first = example.revisions.get().name
    second = _save(historyLimit=6).revision.name
    again = _save().revision
    assert again.name == first
    assert _history(example) == [(2, second), (3, first)]


def test_revisions_beyond_the_history_limit_are_pruned_oldest_first(example):
    names = [_save(historyLimit=3, version=f"v{i}").revision.name for i in range(2, 6)]
    assert _history(example) == [(3, names[1]), (4, names[2]), (5, names[3])]


def test_pruning_keeps_the_revision_the_orchestrator_runs(example):
    running = example.revisions.get().name
    Deployment.objects.filter(pk=example.pk).update(current_revision=running)
    example.refresh_from_db()
    for i in range(2, 6):
        _save(historyLimit=1, version=f"v{i}")
    assert [name for _, name in _history(example)] == [
        running,
        _save(historyLimit=1, version="v5").revision.name,
    ]


def test_the_saved_spec_keeps_its_revision_even_with_a_limit_of_one(example):
    change = _save(historyLimit=1)
    assert _history(example) == [(2, change.revision.name)]
