"""Size limits: a spec over one is refused at the list's path, naming the limit; items beyond a
limit are not checked further; without limits (reading what is stored) nothing is counted; and
a report lists at most 100 problems, counting the rest."""

from __future__ import annotations

from dataclasses import replace

import pytest

from orchestrator import parse_deployment, validate_manifest
from orchestrator.spec.fields import MAX_REPORTED_ERRORS
from orchestrator.spec.model import Limits

from .spec_helpers import changed, example_manifest, rejection

# The example: splitter has 3 pods of 2 partitions, totals 1 pod of 6; 4 pods in all.
AT_THE_EXAMPLE = Limits(max_entities=2, max_pods_per_entity=3, max_pods=4, max_partitions_per_pod=6)
E0 = "spec.statefulEntities[0]"


def test_a_spec_at_every_limit_is_accepted() -> None:
    assert parse_deployment(example_manifest(), AT_THE_EXAMPLE) == parse_deployment(example_manifest())


def test_the_defaults_leave_room_above_the_largest_tested_topology() -> None:
    limits = Limits()
    assert limits.max_entities >= 100
    assert limits.max_pods_per_entity >= 20
    assert limits.max_pods >= 100 * 20


@pytest.mark.parametrize(
    ("limit", "path", "message"),
    [
        (
            {"max_entities": 1},
            "spec.statefulEntities",
            "has 2 entities; the limit is 1 entities per deployment",
        ),
        (
            {"max_pods_per_entity": 2},
            f"{E0}.pods",
            "has 3 pods; the limit is 2 pods per entity",
        ),
        (
            {"max_pods": 3},
            "spec.statefulEntities",
            "the entities have 4 pods in all; the limit is 3 pods per deployment",
        ),
        (
            {"max_partitions_per_pod": 5},
            "spec.statefulEntities[1].pods[0].partitions",
            "has 6 partitions; the limit is 5 partitions per pod",
        ),
    ],
)
def test_a_spec_over_a_limit_is_refused_naming_it(limit: dict[str, int], path: str, message: str) -> None:
    errors = rejection_with(example_manifest(), replace(AT_THE_EXAMPLE, **limit))
    assert [(e.path, e.message, e.code) for e in errors] == [(path, message, "too_many")]


def rejection_with(manifest: object, limits: Limits) -> list:
    errors = validate_manifest(manifest, limits)
    assert errors, "the manifest was accepted"
    return errors


def test_items_beyond_a_limit_are_not_checked_further() -> None:
    manifest = changed(example_manifest(), f"{E0}.pods[3]", {"name": "Not A Name", "colour": "red"})
    errors = rejection_with(manifest, replace(AT_THE_EXAMPLE, max_pods=5))
    assert [(e.path, e.code) for e in errors] == [(f"{E0}.pods", "too_many")]


def test_without_limits_nothing_is_counted() -> None:
    pods = [{"name": f"p-{i}", "partitions": [i]} for i in range(5000)]
    manifest = changed(example_manifest(), f"{E0}.pods", pods)
    assert len(parse_deployment(manifest).entities[0].pods) == 5000
    assert [e.path for e in rejection_with(manifest, Limits())] == [
        "spec.statefulEntities",
        f"{E0}.pods",
    ]


def test_a_report_lists_the_first_hundred_problems_and_counts_the_rest() -> None:
    manifest = changed(example_manifest(), "spec", {**example_manifest()["spec"]})
    manifest["spec"].update({f"key{i:05}": i for i in range(1000)})
    errors = rejection(manifest)
    assert len(errors) == MAX_REPORTED_ERRORS + 1
    assert [e.path for e in errors[:3]] == ["spec.key00000", "spec.key00001", "spec.key00002"]
    assert (errors[-1].path, errors[-1].code) == ("", "too_many_errors")
    assert errors[-1].message == "900 more problems were found; only the first 100 are listed"
