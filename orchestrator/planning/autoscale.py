"""The autoscaler's decision (issue 16, item 2): how many pods an entity should have, and why.

Pure logic over the metrics collector's samples of one entity (its total lag and the records it
consumed, over time). Two rules, each with its own persistence, so that a short spike or a
short lull changes nothing:

* **scale out** while the lag has been rising (each newest lag above every one before it) for
  longer than ``scale_out_after_seconds``: to the
  pods that would consume the input rate plus the lag's growth at ``target_records_per_pod``
  each, at least one more;
* **scale in** while every sample of the last ``scale_in_after_seconds`` had the pods under
  ``utilisation_floor`` of ``target_records_per_pod`` and no growing lag: to the fewest pods
  that stay under ``SCALE_IN_CEILING`` of it. The gap between the floor and that ceiling is
  the hysteresis: the pods left after a scale-in are not so busy that the next sample scales
  out again.

Then the bounds: never outside ``[min_pods, max_pods]``, never more than ``max_step`` pods at
once, and nothing within ``cooldown_seconds`` of the last change (a change in progress must
show its effect before the next is judged). Bounds win over cooldown: a deployment outside its
bounds is brought back at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: After a scale-in the pods should be at most this busy (fraction of the target rate).
SCALE_IN_CEILING = 0.75

HOLD = "hold"
SCALE_OUT = "lag_growing"
SCALE_IN = "under_floor"
BOUNDS = "bounds"
COOLDOWN = "cooldown"
NO_DATA = "no_data"


@dataclass(frozen=True)
class Policy:
    """The per-entity settings (stored with the deployment, see ``AutoscalePolicy``)."""

    min_pods: int = 1
    max_pods: int = 10
    target_records_per_pod: float = 1000.0
    scale_out_after_seconds: float = 30.0
    utilisation_floor: float = 0.3
    scale_in_after_seconds: float = 120.0
    cooldown_seconds: float = 120.0
    max_step: int = 2

    def problems(self) -> list[tuple[str, str]]:
        """``(field, message)`` for every setting that makes no sense; empty when valid."""
        found = []
        if self.min_pods < 1:
            found.append(("min_pods", "min_pods must be at least 1"))
        if self.max_pods < self.min_pods:
            found.append(("max_pods", f"max_pods ({self.max_pods}) is below min_pods ({self.min_pods})"))
        if not self.target_records_per_pod > 0:
            found.append(("target_records_per_pod", "target_records_per_pod must be above 0"))
        if not 0 <= self.utilisation_floor < SCALE_IN_CEILING:
            message = f"utilisation_floor must be from 0 to below {SCALE_IN_CEILING} (the hysteresis)"
            found.append(("utilisation_floor", message))
        for name in ("scale_out_after_seconds", "scale_in_after_seconds", "cooldown_seconds"):
            if getattr(self, name) < 0:
                found.append((name, f"{name} cannot be negative"))
        if self.max_step < 1:
            found.append(("max_step", "max_step must be at least 1"))
        return found


@dataclass(frozen=True)
class Sample:
    """One collection of one entity: its total lag and the records consumed so far (a counter)."""

    time: float
    lag: float
    records: float


@dataclass(frozen=True)
class Decision:
    """``pods`` is the recommendation; ``rule`` which rule fired, ``reason`` the evidence."""

    current: int
    pods: int
    rule: str
    reason: str
    rate: float = 0.0
    lag_growth: float = 0.0

    @property
    def change(self) -> int:
        return self.pods - self.current


def decide(
    policy: Policy, current: int, samples: Sequence[Sample], now: float, last_change: float | None
) -> Decision:
    """The recommended pod count for an entity with ``current`` pods; ``samples`` oldest first."""
    bounded = min(max(current, policy.min_pods), policy.max_pods)
    if bounded != current:
        reason = f"{current} pod(s) is outside the bounds {policy.min_pods}-{policy.max_pods}"
        return Decision(current, _stepped(policy, current, bounded), BOUNDS, reason)
    if last_change is not None and now - last_change < policy.cooldown_seconds:
        left = policy.cooldown_seconds - (now - last_change)
        return Decision(
            current, current, COOLDOWN, f"cooling down for {left:.0f} s more after the last change"
        )
    if len(samples) < 2:
        return Decision(current, current, NO_DATA, "fewer than two samples of the entity's lag and rate")
    rate, growth = _rate(samples), _growth(samples)
    grown_for = _lag_growing_for(samples)
    if grown_for >= policy.scale_out_after_seconds and grown_for > 0:
        wanted = max(current + 1, math.ceil((rate + growth) / policy.target_records_per_pod))
        pods = _stepped(policy, current, min(wanted, policy.max_pods))
        reason = (
            f"lag grew for {grown_for:.0f} s (≥ {policy.scale_out_after_seconds:g} s) by {growth:.0f}/s "
            f"at {rate:.0f} records/s: {wanted} pod(s) at {policy.target_records_per_pod:g}/s each"
        )
        return Decision(current, pods, SCALE_OUT, reason, rate, growth)
    quiet_for = _under_floor_for(policy, current, samples)
    if quiet_for >= policy.scale_in_after_seconds and quiet_for > 0:
        fewest = math.ceil(rate / (policy.target_records_per_pod * SCALE_IN_CEILING))
        pods = _stepped(policy, current, max(policy.min_pods, fewest, 1))
        if pods < current:
            floor = policy.utilisation_floor * 100
            reason = (
                f"pods under {floor:.0f}% of {policy.target_records_per_pod:g} records/s "
                f"for {quiet_for:.0f} s (≥ {policy.scale_in_after_seconds:g} s) at {rate:.0f} records/s"
            )
            return Decision(current, pods, SCALE_IN, reason, rate, growth)
    return Decision(current, current, HOLD, f"{rate:.0f} records/s, lag growth {growth:.0f}/s", rate, growth)


def _stepped(policy: Policy, current: int, wanted: int) -> int:
    """``wanted`` at most ``max_step`` away from ``current``."""
    return max(current - policy.max_step, min(current + policy.max_step, wanted))


def _rate(samples: Sequence[Sample]) -> float:
    """Records/s over all the samples (pods count records per batch, so one interval may show
    none and the next a burst; a counter reset reads as no rate)."""
    old, new = samples[0], samples[-1]
    elapsed = new.time - old.time
    return max(0.0, (new.records - old.records) / elapsed) if elapsed > 0 else 0.0


def _growth(samples: Sequence[Sample]) -> float:
    """Lag growth per second over all the samples (negative while it shrinks)."""
    old, new = samples[0], samples[-1]
    elapsed = new.time - old.time
    return (new.lag - old.lag) / elapsed if elapsed > 0 else 0.0


def _lag_growing_for(samples: Sequence[Sample]) -> float:
    """Seconds the lag has risen: back through the newest run in which every earlier lag is
    below the newest one, to its last lowest point. Committed offsets move per batch, so the
    lag saws up and down; this reads an upward trend with dips as growth, and a flat or falling
    lag as none."""
    newest = samples[-1].lag
    start = len(samples) - 1
    while start > 0 and samples[start - 1].lag < newest:
        start -= 1
    low = min(sample.lag for sample in samples[start:])
    start = max(i for i in range(start, len(samples)) if samples[i].lag == low)  # the rise began there
    return samples[-1].time - samples[start].time


def _under_floor_for(policy: Policy, pods: int, samples: Sequence[Sample]) -> float:
    """Seconds the newest run of intervals stayed under the floor with a lag that did not grow."""
    floor = policy.utilisation_floor * policy.target_records_per_pod * max(pods, 1)
    start = len(samples) - 1
    while start > 0:
        old, new = samples[start - 1], samples[start]
        elapsed = new.time - old.time
        rate = max(0.0, (new.records - old.records) / elapsed) if elapsed > 0 else 0.0
        if rate >= floor or new.lag > old.lag:
            break
        start -= 1
    return samples[-1].time - samples[start].time
