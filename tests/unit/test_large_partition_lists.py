"""Long partition lists are checked in C when every item is a plain, new, in-range id, and item by
item otherwise: a single bad item among 100,000 is still reported at its own index, and a
partition claimed by two pods is still found (the fast paths of validation and consistency)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator import SpecError, parse_deployment

from .spec_helpers import example_manifest

POD = "spec.statefulEntities[1].pods[0].partitions"
OTHER = "spec.statefulEntities[1].pods[1].partitions"


def _totals(*pods: list[Any], count: int | None = None) -> dict[str, Any]:
    manifest = example_manifest()
    entity = manifest["spec"]["statefulEntities"][1]
    entity["pods"] = [{"name": f"totals-{i}", "partitions": partitions} for i, partitions in enumerate(pods)]
    if count is not None:
        entity["inputPartitions"] = count
    return manifest


def _errors(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as raised:
        parse_deployment(manifest)
    return [(error.path, error.code) for error in raised.value.errors]


def test_a_hundred_thousand_plain_partitions_are_accepted() -> None:
    spec = parse_deployment(_totals(list(range(60_000)), list(range(60_000, 100_000))))
    assert spec.entities[1].pods[1].partitions[-1] == 99_999


@pytest.mark.parametrize(
    ("bad", "code"),
    [(-1, "invalid_value"), (True, "invalid_type"), ("01", "invalid_value"), (2.0, "invalid_type")],
)
def test_one_bad_item_among_many_is_reported_at_its_index(bad: object, code: str) -> None:
    partitions: list[Any] = list(range(50_000))
    partitions[31_337] = bad
    assert (f"{POD}[31337]", code) in _errors(_totals(partitions))


def test_a_partition_past_the_input_count_is_reported_at_its_index() -> None:
    assert _errors(_totals(list(range(50_000)), count=49_999)) == [(f"{POD}[49999]", "out_of_range")]


def test_a_duplicate_within_a_long_list_and_across_pods_is_found() -> None:
    first = [*range(50_000), 17]
    assert (f"{POD}[50000]", "duplicate") in _errors(_totals(first))
    assert _errors(_totals(list(range(50_000)), [70_000, 49_999])) == [(f"{OTHER}[1]", "duplicate")]
