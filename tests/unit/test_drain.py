"""The drain planner: only the drained pod's partitions move, to the least loaded pods; bad
input is refused naming the field; the takeover check."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator import parse_deployment
from orchestrator.planning.drain import drain_entity, pending_takeover, plan_drain, remove_drained
from orchestrator.planning.rebalance import Move
from orchestrator.spec.model import SpecError
from tests.unit.spec_helpers import example_manifest


def test_only_the_drained_pods_partitions_move_to_the_least_loaded_pods():
    plan = plan_drain({"a": [0, 1], "b": [2, 3, 4], "c": [5, 6, 7]}, "c")
    assert plan.moves == [Move(5, "c", "a"), Move(6, "c", "a"), Move(7, "c", "b")]
    assert plan.assignment == {"a": [0, 1, 5, 6], "b": [2, 3, 4, 7], "c": []}


def test_measured_load_decides_where_the_heaviest_goes_first():
    loads = {0: 10.0, 1: 1.0, 2: 5.0, 3: 4.0}
    plan = plan_drain({"a": [0], "b": [1], "c": [2, 3]}, "c", loads)
    assert plan.assignment == {"a": [0], "b": [1, 2, 3], "c": []}
    plan = plan_drain({"a": [0], "b": [1], "c": [2, 3]}, "a", loads)
    assert plan.assignment == {"a": [], "b": [0, 1], "c": [2, 3]}


def test_a_pod_that_owns_nothing_drains_with_no_moves_even_alone():
    assert plan_drain({"a": []}, "a").moves == []


def test_unknown_pod_and_last_pod_are_refused():
    with pytest.raises(ValueError, match="no pod 'x'"):
        plan_drain({"a": [0]}, "x")
    with pytest.raises(ValueError, match="only pod"):
        plan_drain({"a": [0, 1]}, "a")


@given(
    st.lists(st.lists(st.integers(0, 40), max_size=8), min_size=2, max_size=6),
    st.integers(0, 5),
)
def test_moves_are_exactly_the_drained_pods_partitions_and_nothing_is_lost(owned, index):
    assignment = {f"p{i}": sorted(set(ps) - {p for o in owned[:i] for p in o}) for i, ps in enumerate(owned)}
    pod = f"p{index % len(owned)}"
    plan = plan_drain(assignment, pod)
    assert sorted(m.partition for m in plan.moves) == sorted(assignment[pod])
    assert all(m.from_pod == pod and m.to_pod != pod for m in plan.moves)
    before = sorted(p for ps in assignment.values() for p in ps)
    assert sorted(p for ps in plan.assignment.values() for p in ps) == before
    assert plan.assignment[pod] == []
    for name, partitions in assignment.items():
        if name != pod:
            assert set(partitions) <= set(plan.assignment[name])
    # least loaded first: a pod that received anything ends at most one above the smallest pod
    sizes = {n: len(plan.assignment[n]) for n in assignment if n != pod}
    receivers = {m.to_pod for m in plan.moves}
    assert all(sizes[n] <= min(sizes.values()) + 1 for n in receivers)


def spec_with_pods(entity: str, pods: dict[str, list[int]]):
    """The word-count example with ``entity``'s pods replaced."""
    manifest = example_manifest()
    for current in manifest["spec"]["statefulEntities"]:
        if current["name"] == entity:
            current["pods"] = [{"name": name, "partitions": ps} for name, ps in pods.items()]
    return parse_deployment(manifest)


def test_the_spec_keeps_the_pod_owning_nothing_then_removes_it():
    spec = spec_with_pods("totals", {"totals-0": [0, 1, 2], "totals-1": [3, 4, 5]})
    drained, plan = drain_entity(spec, "totals", "totals-1")
    pods = {p.name: p.partitions for p in drained.entity("totals").pods}
    assert pods == {"totals-0": (0, 1, 2, 3, 4, 5), "totals-1": ()}
    assert len(plan.moves) == 3
    removed = remove_drained(drained, "totals", "totals-1")
    assert [p.name for p in removed.entity("totals").pods] == ["totals-0"]


def test_bad_input_names_the_field():
    spec = spec_with_pods("totals", {"totals-0": [0, 1, 2]})
    cases = [
        (("nope", "totals-0"), "entity", "not_found"),
        (("totals", "nope"), "pod", "not_found"),
        (("totals", "totals-0"), "pod", "conflict"),
    ]
    for (entity, pod), path, code in cases:
        with pytest.raises(SpecError) as caught:
            drain_entity(spec, entity, pod)
        assert [(e.path, e.code) for e in caught.value.errors] == [(path, code)]
    with pytest.raises(SpecError) as caught:
        remove_drained(spec, "totals", "totals-0")
    assert [(e.path, e.code) for e in caught.value.errors] == [("pod", "conflict")]


def test_takeover_is_pending_until_each_new_owner_consumes_its_partition():
    moves = [Move(3, "b", "a"), Move(4, "b", "c")]
    assert pending_takeover(moves, {}) == moves
    assert pending_takeover(moves, {"a": {3: 1.0}, "c": {4: 0.0}}) == [Move(4, "b", "c")]
    assert pending_takeover(moves, {"a": {3: 1.0}, "c": {4: 1.0}}) == []
