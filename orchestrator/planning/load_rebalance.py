"""Load-aware rebalance: move the fewest partitions that bring every pod's load under a cap.

:mod:`orchestrator.planning.rebalance` splits partitions evenly by count. Partitions rarely carry equal
load, so this planner takes each partition's measured load (see :func:`partition_load`) and
aims at ``max(pod load) / mean(pod load) <= target`` (1.10 by default) over the pods that remain.

The cap
    ``cap = max(target * total / pods, heaviest partition)``. A partition cannot be split, so
    when one partition alone is heavier than ``target * mean`` the best any plan can do is give
    it a pod of its own; the cap is then that partition's load and the plan reports
    ``achievable=False`` with the ratio it reached.

Minimality (why the move count is the fewest, or how far from it at most)
    Every plan must move (a) the partitions of removed pods and the partitions nobody owns, and
    (b) from every pod whose load ``L`` exceeds the cap, enough partitions to shed ``L - cap``:
    a pod only gets heavier by receiving, so it has to give away at least that much, and the
    fewest of its partitions that add up to it are its ``k`` heaviest (any ``k - 1`` of them sum
    to no more than its ``k - 1`` heaviest, which fall short). These sets are disjoint, so
    ``lower_bound = |a| + sum(k)`` moves is a lower bound for *any* plan.

    The planner sheds the fewest partitions per overloaded pod among those light enough to fit
    on the emptiest pod (``k`` unless the pod's heavy partitions fit nowhere; the lightest run
    of neighbours in weight order that still covers the excess, so the pieces to place are
    small), and places the shed partitions, heaviest first, on the least loaded pod. When every
    placement stays under the cap and no more than ``k`` left any pod, the plan makes exactly
    ``lower_bound`` moves and is **optimal** (``optimal=True``).

    When a placement does not fit (a packing problem, NP-hard in general), a bounded repair
    moves single partitions from the most to the least loaded pod while that lowers the
    maximum. The cap was then out of reach for whole partitions (or for this packing), so the
    planner plans once more from the start against the maximum the repair reached, and keeps
    that plan if everything fits with no more moves: it is then optimal for that level.
    Otherwise the plan reports its move count beside ``lower_bound`` and ``optimal=False``, so
    the gap to the optimum is never hidden.

Cost: ``O(P log P)`` for ``P`` partitions (a sort per overloaded pod and a heap of pods); the
repair runs at most ``P`` steps of ``O(pods + partitions of one pod)``.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from orchestrator.planning.rebalance import Move, _find_entity, _require_pod, _with_entity
from orchestrator.spec.model import DeploymentSpec, SpecError

DEFAULT_TARGET = 1.10
#: Lag counts as the extra rate needed to catch up within this many seconds.
DEFAULT_CATCH_UP_SECONDS = 300.0


@dataclass(frozen=True)
class PartitionRate:
    """One input partition's measured rate over the collector's window, and its lag (records)."""

    records_per_sec: float = 0.0
    bytes_per_sec: float = 0.0
    lag: float = 0.0


def partition_load(
    rate: PartitionRate, metric: str = "records", catch_up_seconds: float = DEFAULT_CATCH_UP_SECONDS
) -> float:
    """The load a pod takes on with this partition: its rate plus the rate that would clear its
    lag within ``catch_up_seconds``, so a partition that has fallen behind weighs more. With
    ``metric="bytes"`` the lag is converted to bytes at the partition's mean record size."""
    if metric == "records":
        return rate.records_per_sec + rate.lag / catch_up_seconds
    if metric == "bytes":
        size = rate.bytes_per_sec / rate.records_per_sec if rate.records_per_sec > 0 else 0.0
        return rate.bytes_per_sec + rate.lag * size / catch_up_seconds
    raise ValueError(f"unknown load metric {metric!r} (use 'records' or 'bytes')")


@dataclass(frozen=True)
class LoadPlan:
    """The moves (in partition order), the resulting assignment, each pod's load before and
    after, and how the plan compares with the target and the lower bound on moves."""

    moves: list[Move]
    assignment: dict[str, list[int]]
    before: dict[str, float]
    after: dict[str, float]
    ratio_before: float
    ratio_after: float
    target: float
    cap: float
    lower_bound: int
    optimal: bool
    achievable: bool

    @property
    def balanced(self) -> bool:
        """The target ratio was reached (it may not be when one partition outweighs the cap)."""
        return self.ratio_after <= self.target + 1e-9


def ratio(loads: Collection[float]) -> float:
    """``max / mean`` of the pods' loads; 1.0 when there is no load at all."""
    total = sum(loads)
    return max(loads) * len(loads) / total if total > 0 else 1.0


def plan_load_rebalance(
    assignment: Mapping[str, Sequence[int]],
    loads: Mapping[int, float],
    partitions: Sequence[int] | None = None,
    removed: Collection[str] = (),
    target: float = DEFAULT_TARGET,
) -> LoadPlan:
    """The fewest moves that bring every pod of ``assignment`` (less ``removed``) under the cap.

    ``loads`` maps a partition to its load (missing partitions weigh 0). ``partitions`` are the
    ones to assign (default: those owned now); an unowned one moves from ``None``, an owned one
    not listed is released. A partition listed by two pods stays with the first.
    """
    if target < 1.0:
        raise ValueError(f"target ratio must be at least 1.0, not {target}")
    unknown = sorted(set(removed) - set(assignment))
    if unknown:
        raise ValueError(f"cannot remove unknown pods: {', '.join(unknown)}")
    owners = _first_owners(assignment)
    wanted = sorted(set(owners) if partitions is None else set(partitions))
    pods = [pod for pod in assignment if pod not in removed]
    if wanted and not pods:
        raise ValueError(f"{len(wanted)} partitions need at least one pod to own them")
    get = loads.get
    weight = {p: w if (w := float(get(p, 0.0))) > 0 else 0.0 for p in wanted}
    base = _State(assignment, pods, owners, weight)
    before = {pod: base.load.get(pod, 0.0) for pod in assignment}
    for pod in removed:
        before[pod] = sum(weight[p] for p in set(assignment[pod]) if owners[p] == pod and p in weight)
    total = sum(weight.values())
    cap = max(target * total / len(pods), max(weight.values())) if pods and wanted else 0.0
    state, lower_bound, fitted = _attempt(base.copy(), weight, cap)
    if not fitted:
        state.repair(cap)
        # The cap was out of reach for whole partitions; the repair found a level that is not.
        # Planned afresh against that level, the bound and the optimality claim hold for it.
        reached = max(state.load.values())
        again, bound, fits = _attempt(base.copy(), weight, reached)
        if fits and _moved(again, owners) <= _moved(state, owners):
            state, lower_bound, fitted, cap = again, bound, True, reached
    return _result(state, owners, before, cap, lower_bound, fitted, target, total)


def _attempt(state: _State, weight: dict[int, float], cap: float) -> tuple[_State, int, bool]:
    """Sheds the fewest partitions from the pods over ``cap`` and places them with the loose
    ones: the state, the lower bound on moves for ``cap``, and whether everything fitted."""
    shed, bound = state.shed_over(cap)
    lower_bound = len(state.loose) + bound
    fitted = state.place(sorted(state.loose + shed, key=lambda p: -weight[p]), cap)
    return state, lower_bound, fitted


def _moved(state: _State, owners: dict[int, str]) -> int:
    return sum(owners.get(p) != pod for pod, held in state.held.items() for p in held)


class _State:
    """Who holds what and each pod's load, while the plan is being made."""

    def __init__(
        self,
        assignment: Mapping[str, Sequence[int]],
        pods: list[str],
        owners: dict[int, str],
        weight: dict[int, float],
    ) -> None:
        self.weight = weight
        self.held: dict[str, list[int]] = {
            pod: [p for p in dict.fromkeys(assignment[pod]) if p in weight and owners[p] == pod]
            for pod in pods
        }
        self.loose: list[int] = [p for p in weight if owners.get(p) not in self.held]
        self.shed_from: dict[int, str] = {}
        self.load = {pod: sum([weight[p] for p in held]) for pod, held in self.held.items()}

    def copy(self) -> _State:
        twin = object.__new__(_State)
        twin.weight, twin.loose, twin.shed_from = self.weight, list(self.loose), {}
        twin.held = {pod: list(held) for pod, held in self.held.items()}
        twin.load = dict(self.load)
        return twin

    def shed_over(self, cap: float) -> tuple[list[int], int]:
        """Takes from every pod over ``cap`` the fewest partitions that bring it under and fit
        on the emptiest pod: those partitions, and the lower bound on moves they stand for."""
        under = [load for load in self.load.values() if load <= cap]
        room = cap - min(under) if under else cap
        shed: list[int] = []
        bound = 0
        for pod, load in self.load.items():
            if load > cap:
                ranked = sorted(self.held[pod], key=lambda p: -self.weight[p])
                bound += _fewest(ranked, self.weight, load - cap)
                fitting = [p for p in ranked if self.weight[p] <= room]
                if sum(self.weight[p] for p in fitting) >= load - cap:
                    ranked = fitting
                shed.extend(self._shed(pod, ranked, load - cap))
        return shed, bound

    def _shed(self, pod: str, ranked: list[int], excess: float) -> list[int]:
        count = _fewest(ranked, self.weight, excess)
        window = sum(self.weight[p] for p in ranked[:count])
        # Of the runs of ``count`` neighbours in weight order that still cover the excess, the
        # lightest: the fewest partitions, and pieces as small as they can be, easier to place.
        start = 0
        while start + count < len(ranked):
            lighter = window - self.weight[ranked[start]] + self.weight[ranked[start + count]]
            if lighter < excess:
                break
            start, window = start + 1, lighter
        out = ranked[start : start + count]
        gone = set(out)
        self.shed_from.update(dict.fromkeys(out, pod))
        self.held[pod] = [p for p in self.held[pod] if p not in gone]
        self.load[pod] -= window
        return out

    def place(self, partitions: list[int], cap: float) -> bool:
        """Each partition, heaviest first, to the least loaded pod; false if one went over cap."""
        heap = [(load, i, pod) for i, (pod, load) in enumerate(self.load.items())]
        heapq.heapify(heap)
        fitted = True
        for p in partitions:
            load, i, pod = heapq.heappop(heap)
            if self.shed_from.get(p) == pod and heap:
                # Back home it would not fit (the pod shed the fewest it could): the next pod.
                load, i, pod = heapq.heapreplace(heap, (load, i, pod))
            load += self.weight[p]
            fitted = fitted and load <= cap * (1 + 1e-12)
            self.held[pod].append(p)
            self.load[pod] = load
            heapq.heappush(heap, (load, i, pod))
        return fitted

    def repair(self, cap: float) -> None:
        """Moves one partition at a time from the heaviest to the lightest pod while that lowers
        the heavier of the two (at most one step per partition)."""
        for _ in range(len(self.weight)):
            high = max(self.load, key=self.load.__getitem__)
            low = min(self.load, key=self.load.__getitem__)
            gap = self.load[high] - self.load[low]
            if self.load[high] <= cap or gap <= 0:
                return
            # The best single move leaves the two pods as even as possible: weight nearest gap / 2.
            best = min(self.held[high], key=lambda p: abs(self.weight[p] - gap / 2), default=None)
            if best is None or not 0 < self.weight[best] < gap:
                return
            self.held[high].remove(best)
            self.held[low].append(best)
            self.load[high] -= self.weight[best]
            self.load[low] += self.weight[best]


def _fewest(ranked: list[int], weight: dict[int, float], excess: float) -> int:
    """How many of ``ranked`` (heaviest first) it takes to add up to ``excess``."""
    taken, count = 0.0, 0
    while taken < excess and count < len(ranked):
        taken += weight[ranked[count]]
        count += 1
    return count


def _first_owners(assignment: Mapping[str, Sequence[int]]) -> dict[int, str]:
    """Each partition's owner; one listed by two pods belongs to the first (written last)."""
    owners: dict[int, str] = {}
    for pod, partitions in reversed(list(assignment.items())):
        owners.update(dict.fromkeys(partitions, pod))
    return owners


def _result(
    state: _State,
    owners: dict[int, str],
    before: dict[str, float],
    cap: float,
    lower_bound: int,
    fitted: bool,
    target: float,
    total: float,
) -> LoadPlan:
    moves = sorted(
        (
            Move(p, owners.get(p), pod)
            for pod, held in state.held.items()
            for p in held
            if owners.get(p) != pod
        ),
        key=lambda move: move.partition,
    )
    after = dict(state.load)
    mean = total / len(after) if after else 0.0
    return LoadPlan(
        moves=moves,
        assignment={pod: sorted(held) for pod, held in state.held.items()},
        before=before,
        after=after,
        ratio_before=ratio(list(before.values())) if before else 1.0,
        ratio_after=ratio(list(after.values())) if after else 1.0,
        target=target,
        cap=cap,
        lower_bound=lower_bound,
        optimal=fitted and len(moves) == lower_bound,
        achievable=cap <= target * mean * (1 + 1e-12) if mean > 0 else True,
    )


def rebalance_entity_by_load(
    spec: DeploymentSpec,
    entity: str,
    loads: Mapping[int, float],
    removed: Collection[str] = (),
    target: float = DEFAULT_TARGET,
) -> tuple[DeploymentSpec, LoadPlan]:
    """``spec`` with ``entity``'s partitions moved by :func:`plan_load_rebalance`, less ``removed``.

    The partitions are all ``inputPartitions`` when the count is known, else those owned now,
    as in :func:`orchestrator.planning.rebalance.rebalance_entity`; unknown names are a
    :class:`SpecError` at ``entity`` or ``removed``, and a bad ``target`` one at ``target``.
    """
    current = _find_entity(spec, entity)
    for pod in removed:
        _require_pod(current, pod, "removed")
    if target < 1.0:
        raise SpecError.single("target", f"target ratio must be at least 1.0, not {target}", "invalid")
    names = [pod.name for pod in current.pods]
    owned = {p for pod in current.pods for p in pod.partitions}
    partitions = range(current.input_partitions) if current.input_partitions else sorted(owned)
    if partitions and set(names) <= set(removed):
        raise SpecError.single(
            "removed", f"entity {entity!r} needs at least one pod to own its partitions", "conflict"
        )
    assignment = {pod.name: pod.partitions for pod in current.pods}
    plan = plan_load_rebalance(assignment, loads, partitions, removed, target)
    pods = tuple(
        replace(pod, partitions=tuple(plan.assignment[pod.name]))
        for pod in current.pods
        if pod.name not in removed
    )
    return _with_entity(spec, replace(current, pods=pods)), plan
