"""Rebalancing: balanced afterwards, every partition owned once, the fewest possible moves,
deterministic; and the pure helpers that edit a spec's assignment."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import (
    DeploymentSpec,
    Move,
    SpecError,
    move_partition,
    parse_deployment,
    plan_rebalance,
    rebalance_entity,
    to_manifest,
)

from .spec_helpers import changed, example_manifest

SETTINGS = settings(max_examples=200, deadline=None)


def test_from_nothing_partitions_are_dealt_in_contiguous_ranges() -> None:
    assert plan_rebalance({"a": [], "b": []}, range(6)).assignment == {"a": [0, 1, 2], "b": [3, 4, 5]}
    plan = plan_rebalance({"a": [], "b": [], "c": []}, range(7))
    assert plan.assignment == {"a": [0, 1, 2], "b": [3, 4], "c": [5, 6]}
    assert plan.moves[:2] == [Move(0, None, "a"), Move(1, None, "a")]
    assert len(plan.moves) == 7


def test_a_balanced_assignment_moves_nothing() -> None:
    plan = plan_rebalance({"a": [4, 0, 2], "b": [1, 3]}, range(5))
    assert plan.moves == []
    assert plan.assignment == {"a": [0, 2, 4], "b": [1, 3]}


def test_adding_a_pod_moves_only_its_share_from_the_highest_partitions() -> None:
    plan = plan_rebalance({"a": [0, 1, 2], "b": [3, 4, 5], "c": []}, range(6))
    assert plan.moves == [Move(2, "a", "c"), Move(5, "b", "c")]
    assert plan.assignment == {"a": [0, 1], "b": [3, 4], "c": [2, 5]}


def test_the_larger_shares_go_to_the_pods_that_hold_most() -> None:
    plan = plan_rebalance({"a": [0], "b": [1, 2, 3, 4], "c": []}, range(5))
    assert plan.assignment == {"a": [0, 3], "b": [1, 2], "c": [4]}
    assert len(plan.moves) == 2


def test_partitions_of_removed_pods_move_from_them() -> None:
    plan = plan_rebalance({"a": [0, 1], "b": [2, 3], "c": [4, 5]}, range(6), removed={"b"})
    assert plan.moves == [Move(2, "b", "a"), Move(3, "b", "c")]
    assert plan.assignment == {"a": [0, 1, 2], "c": [3, 4, 5]}


def test_partitions_nobody_owned_move_from_none_and_released_ones_disappear() -> None:
    plan = plan_rebalance({"a": [0, 1, 2, 9], "b": [3, 4, 5]}, range(8))
    assert plan.moves == [Move(6, None, "a"), Move(7, None, "b")]
    assert plan.assignment == {"a": [0, 1, 2, 6], "b": [3, 4, 5, 7]}


def test_a_partition_listed_by_two_pods_stays_with_the_first() -> None:
    plan = plan_rebalance({"a": [0, 1], "b": [1, 2]}, range(3))
    assert plan.assignment == {"a": [0, 1], "b": [2]}
    assert plan.moves == []


@pytest.mark.parametrize(
    ("assignment", "partitions", "removed", "message"),
    [
        ({"a": [0]}, [0], {"x"}, "cannot remove unknown pods: x"),
        ({"a": [0]}, [0], {"a"}, "1 partitions need at least one pod"),
        ({}, [0, 1], set(), "2 partitions need at least one pod"),
    ],
)
def test_impossible_plans_are_refused(
    assignment: dict[str, list[int]], partitions: list[int], removed: set[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plan_rebalance(assignment, partitions, removed)


def test_no_partitions_and_no_pods_is_an_empty_plan() -> None:
    plan = plan_rebalance({"a": [3]}, [], removed={"a"})
    assert (plan.moves, plan.assignment) == ([], {})


# --- properties ---------------------------------------------------------------------------


@st.composite
def situations(draw: st.DrawFn) -> tuple[dict[str, list[int]], list[int], set[str]]:
    """Pods with arbitrary (even overlapping) holdings, the partitions wanted, pods to remove."""
    pods = [f"p{i}" for i in range(draw(st.integers(1, 6)))]
    partitions = sorted(draw(st.sets(st.integers(0, 40), max_size=30)))
    universe = st.sampled_from(list(range(45)))
    assignment = {pod: draw(st.lists(universe, max_size=12)) for pod in pods}
    removed = set(draw(st.lists(st.sampled_from(pods), max_size=len(pods) - 1, unique=True)))
    return assignment, partitions, removed


def _holdings(
    assignment: dict[str, list[int]], partitions: Sequence[int], removed: set[str]
) -> dict[str, set[int]]:
    """Written independently of the planner: the first remaining pod listing a partition holds it."""
    holdings: dict[str, set[int]] = {}
    taken: set[int] = set()
    for pod, owned in assignment.items():
        if pod not in removed:
            holdings[pod] = {p for p in owned if p in set(partitions)} - taken
            taken |= holdings[pod]
    return holdings


def _fewest_moves(holdings: dict[str, set[int]], total: int) -> int:
    """Brute force: the best choice of which pods take the larger shares."""
    pods = list(holdings)
    base, extra = divmod(total, len(pods))
    best = max(
        sum(min(len(holdings[pod]), base + (pod in larger)) for pod in pods)
        for larger in map(set, itertools.combinations(pods, extra))
    )
    return total - best


@SETTINGS
@given(situations())
def test_a_plan_is_balanced_complete_minimal_and_stable(
    situation: tuple[dict[str, list[int]], list[int], set[str]],
) -> None:
    assignment, partitions, removed = situation
    plan = plan_rebalance(assignment, partitions, removed)
    owned = [p for ps in plan.assignment.values() for p in ps]
    assert sorted(owned) == partitions
    assert list(plan.assignment) == [pod for pod in assignment if pod not in removed]
    counts = [len(ps) for ps in plan.assignment.values()]
    assert max(counts) - min(counts) <= 1
    holdings = _holdings(assignment, partitions, removed)
    moved = {p for pod, ps in plan.assignment.items() for p in ps if p not in holdings[pod]}
    assert [move.partition for move in plan.moves] == sorted(moved)
    assert len(plan.moves) == _fewest_moves(holdings, len(partitions))
    assert plan_rebalance(plan.assignment, partitions).moves == []
    assert plan_rebalance(assignment, partitions, removed) == plan


@SETTINGS
@given(situations())
def test_every_move_names_the_previous_owner(
    situation: tuple[dict[str, list[int]], list[int], set[str]],
) -> None:
    assignment, partitions, removed = situation
    first_owner = {}
    for pod, owned in assignment.items():
        for p in owned:
            first_owner.setdefault(p, pod)
    for move in plan_rebalance(assignment, partitions, removed).moves:
        assert move.from_pod == first_owner.get(move.partition)
        assert move.partition in plan_rebalance(assignment, partitions, removed).assignment[move.to_pod]


@SETTINGS
@given(st.integers(1, 8), st.integers(0, 200))
def test_adding_a_pod_to_balanced_pods_moves_at_most_its_fair_share(pods: int, partitions: int) -> None:
    names = [f"p{i}" for i in range(pods)]
    balanced = plan_rebalance({name: [] for name in names}, range(partitions)).assignment
    plan = plan_rebalance({**balanced, "new": []}, range(partitions))
    assert len(plan.moves) <= math.ceil(partitions / (pods + 1))
    assert all(move.to_pod == "new" for move in plan.moves)


# --- editing a spec -----------------------------------------------------------------------


def _spec() -> DeploymentSpec:
    return parse_deployment(changed(example_manifest(), "spec.statefulEntities[0].inputPartitions", 6))


def test_move_partition_hands_one_partition_to_another_pod() -> None:
    spec = move_partition(_spec(), "splitter", 1, "splitter-2")
    assert [pod.partitions for pod in spec.entity("splitter").pods] == [(0,), (2, 3), (1, 4, 5)]
    assert parse_deployment(to_manifest(spec)) == spec
    assert spec.entity("totals") == _spec().entity("totals")


def test_moving_a_partition_to_its_owner_changes_nothing() -> None:
    assert move_partition(_spec(), "splitter", 1, "splitter-0") == _spec()


NO_ENTITY = "deployment 'word-count-demo' has no entity 'mapper' (its entities: splitter, totals)"
NO_POD = "entity 'splitter' has no pod 'totals-0' (its pods: splitter-0, splitter-1, splitter-2)"
NO_OWNER = "partition 6 is not assigned to any pod of entity 'splitter'"


@pytest.mark.parametrize(
    ("entity", "partition", "to_pod", "path", "fragment"),
    [
        ("mapper", 1, "splitter-0", "entity", NO_ENTITY),
        ("splitter", 1, "totals-0", "to_pod", NO_POD),
        ("splitter", 6, "splitter-0", "partition", NO_OWNER),
    ],
)
def test_move_partition_refuses_unknown_names(
    entity: str, partition: int, to_pod: str, path: str, fragment: str
) -> None:
    with pytest.raises(SpecError) as raised:
        move_partition(_spec(), entity, partition, to_pod)
    [error] = raised.value.errors
    assert (error.path, error.code, error.message) == (path, "not_found", fragment)


def test_rebalance_entity_drains_removed_pods_into_the_rest() -> None:
    spec, plan = rebalance_entity(_spec(), "splitter", removed={"splitter-1"})
    assert [(pod.name, pod.partitions) for pod in spec.entity("splitter").pods] == [
        ("splitter-0", (0, 1, 2)),
        ("splitter-2", (3, 4, 5)),
    ]
    assert plan.moves == [Move(2, "splitter-1", "splitter-0"), Move(3, "splitter-1", "splitter-2")]
    assert parse_deployment(to_manifest(spec)) == spec


def test_rebalance_entity_assigns_every_partition_of_a_known_topic() -> None:
    manifest = changed(example_manifest(), "spec.statefulEntities[1].inputPartitions", 9)
    manifest = changed(manifest, "spec.statefulEntities[1].pods[0].partitions", list(range(9)))
    manifest = changed(manifest, "spec.statefulEntities[1].pods[1]", {"name": "totals-1"})
    spec, plan = rebalance_entity(parse_deployment(manifest), "totals")
    assert [pod.partitions for pod in spec.entity("totals").pods] == [(0, 1, 2, 3, 4), (5, 6, 7, 8)]
    assert [move.partition for move in plan.moves] == [5, 6, 7, 8]


@pytest.mark.parametrize(
    ("removed", "path", "code"),
    [
        ({"splitter-9"}, "removed", "not_found"),
        ({"splitter-0", "splitter-1", "splitter-2"}, "removed", "conflict"),
    ],
)
def test_rebalance_entity_refuses_impossible_removals(removed: set[str], path: str, code: str) -> None:
    with pytest.raises(SpecError) as raised:
        rebalance_entity(_spec(), "splitter", removed=removed)
    assert [(e.path, e.code) for e in raised.value.errors] == [(path, code)]
