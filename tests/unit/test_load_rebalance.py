"""Load-aware rebalance: the target ratio reached, the fewest moves where the optimum is known
(checked against brute force on small cases), skew that cannot be balanced, and bad input."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.planning.load_rebalance import (
    PartitionRate,
    partition_load,
    plan_load_rebalance,
    ratio,
)
from orchestrator.planning.rebalance import Move


def test_a_pod_carrying_the_hot_partitions_gives_away_the_fewest_that_bring_it_under() -> None:
    # a: 30+25+25 = 80, b: 10, c: 10; mean 33.3, cap 36.7: a must shed 43.3 -> two partitions,
    # the two 25s (the lightest pair that covers it), which fit on b and c.
    loads = {0: 30, 1: 25, 2: 25, 3: 10, 4: 10}
    plan = plan_load_rebalance({"a": [0, 1, 2], "b": [3], "c": [4]}, loads)
    assert len(plan.moves) == 2 == plan.lower_bound
    assert plan.optimal
    assert plan.balanced
    assert plan.achievable
    assert {m.partition for m in plan.moves} == {1, 2}
    assert plan.after == pytest.approx({"a": 30, "b": 35, "c": 35})
    assert plan.ratio_before == pytest.approx(2.4)
    assert plan.ratio_after == pytest.approx(1.05)


def test_when_the_shed_piece_does_not_fit_the_repair_reports_its_gap_to_the_bound() -> None:
    # The 40 must leave a (lower bound 1) but fits nowhere under the cap of 40; the best plan
    # needs two moves (b: 30+10, c: 10+10), and the plan says it is not proven optimal.
    loads = {0: 40, 1: 30, 2: 10, 3: 10, 4: 10}
    plan = plan_load_rebalance({"a": [0, 1, 2], "b": [3], "c": [4]}, loads)
    assert plan.lower_bound == 1
    assert len(plan.moves) == 2
    assert not plan.optimal
    assert max(plan.after.values()) == pytest.approx(40)
    assert plan.achievable is False


def test_balanced_already_moves_nothing() -> None:
    plan = plan_load_rebalance({"a": [0, 1], "b": [2, 3]}, {0: 5, 1: 5, 2: 6, 3: 4.5})
    assert plan.moves == []
    assert plan.lower_bound == 0
    assert plan.optimal
    assert plan.ratio_before == plan.ratio_after == pytest.approx(10.5 / 10.25)


def test_uneven_counts_are_fine_when_the_load_is_even() -> None:
    # Even by count would move a partition; by load nothing is over the cap.
    plan = plan_load_rebalance({"a": [0], "b": [1, 2, 3]}, {0: 30, 1: 10, 2: 10, 3: 10})
    assert plan.moves == []
    assert plan.ratio_after == pytest.approx(1.0)


def test_a_new_pod_gets_load_from_the_overloaded_ones() -> None:
    # 80 over 3 pods: 1.10 * mean = 29.3 is out of reach with partitions of 10 (it would need
    # 3 pods x 2 partitions for 8 partitions). The plan settles at 30 and, planned against
    # 30, takes one partition from each of a and b: the fewest for that level.
    assignment = {"a": [0, 1, 2, 3], "b": [4, 5, 6, 7], "c": []}
    plan = plan_load_rebalance(assignment, dict.fromkeys(range(8), 10.0))
    assert sorted(plan.after.values()) == pytest.approx([20, 30, 30])
    assert len(plan.moves) == 2 == plan.lower_bound
    assert plan.optimal
    assert plan.cap == pytest.approx(30)
    assert not plan.balanced
    assert all(m.to_pod == "c" for m in plan.moves)


def test_a_partition_heavier_than_the_cap_gets_a_pod_of_its_own_and_says_so() -> None:
    loads = {0: 100, 1: 5, 2: 5, 3: 5, 4: 5}
    plan = plan_load_rebalance({"a": [0, 1, 2], "b": [3, 4]}, loads)
    assert plan.achievable is False
    assert plan.balanced is False
    assert plan.assignment["a"] == [0]
    assert plan.after == pytest.approx({"a": 100, "b": 20})
    assert plan.ratio_after == pytest.approx(100 / 60)
    # The bound (1: a must shed 10, and only the 100 covers it alone) is below the 2 moves made.
    assert len(plan.moves) == 2
    assert plan.lower_bound == 1


def test_removed_pods_and_unowned_partitions_must_move() -> None:
    plan = plan_load_rebalance(
        {"a": [0], "b": [1], "c": [2]}, {0: 10, 1: 10, 2: 10, 3: 0}, partitions=range(4), removed={"c"}
    )
    assert Move(2, "c", plan.moves[0].to_pod) in plan.moves
    assert any(m.partition == 3 and m.from_pod is None for m in plan.moves)
    assert "c" not in plan.assignment
    assert plan.lower_bound == 2 == len(plan.moves)
    assert sorted(p for ps in plan.assignment.values() for p in ps) == [0, 1, 2, 3]


def test_no_load_measured_moves_only_what_must_move() -> None:
    plan = plan_load_rebalance({"a": [0, 1, 2], "b": []}, {})
    assert plan.moves == []
    assert plan.ratio_after == 1.0
    assert plan.balanced


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"removed": {"zz"}}, "cannot remove unknown pods: zz"),
        ({"removed": {"a"}}, "need at least one pod"),
        ({"target": 0.9}, "target ratio must be at least 1.0"),
    ],
)
def test_bad_input_is_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_load_rebalance({"a": [0]}, {0: 1.0}, **kwargs)


def test_partition_load_adds_the_rate_to_clear_the_lag() -> None:
    rate = PartitionRate(records_per_sec=100, bytes_per_sec=10_000, lag=3000)
    assert partition_load(rate, "records", catch_up_seconds=300) == pytest.approx(110)
    assert partition_load(rate, "bytes", catch_up_seconds=300) == pytest.approx(11_000)
    with pytest.raises(ValueError, match="unknown load metric 'cpu'"):
        partition_load(rate, "cpu")


def _fewest_moves(assignment: dict[str, list[int]], loads: dict[int, float], cap: float) -> int | None:
    """Brute force: the fewest moves of any assignment whose every pod is under ``cap``."""
    pods = list(assignment)
    owner = {p: pod for pod, ps in assignment.items() for p in ps}
    parts = sorted(owner)
    best = None
    for choice in itertools.product(pods, repeat=len(parts)):
        totals = dict.fromkeys(pods, 0.0)
        for p, pod in zip(parts, choice, strict=True):
            totals[pod] += loads[p]
        if max(totals.values()) <= cap * (1 + 1e-12):
            moves = sum(owner[p] != pod for p, pod in zip(parts, choice, strict=True))
            best = moves if best is None else min(best, moves)
    return best


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 2), min_size=1, max_size=7),
    st.lists(st.integers(1, 60), min_size=7, max_size=7),
)
def test_against_brute_force_the_bound_holds_and_optimal_means_optimal(
    owners: list[int], weights: list[int]
) -> None:
    assignment: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    for p, pod in enumerate(owners):
        assignment["abc"[pod]].append(p)
    loads = {p: float(weights[p]) for p in range(len(owners))}
    plan = plan_load_rebalance(assignment, loads)
    fewest = _fewest_moves(assignment, loads, plan.cap)
    assert sorted(p for ps in plan.assignment.values() for p in ps) == list(range(len(owners)))
    assert sum(plan.after.values()) == pytest.approx(sum(loads.values()))
    if fewest is not None:
        assert plan.lower_bound <= fewest
    if plan.optimal:
        assert fewest is not None
        assert len(plan.moves) == fewest
        assert max(plan.after.values()) <= plan.cap * (1 + 1e-9)
    assert ratio(list(plan.after.values())) <= plan.ratio_before + 1e-9 or plan.lower_bound > 0
