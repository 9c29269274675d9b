"""Load-aware rebalance planning time, beside the even-by-count planner in the same run.

Run: ./dev bench rebalance_plan   (or: python benchmarks/rebalance_plan.py [--partitions N] [--pods N])

The input is what a rebalance meets in practice: 10,000 partitions spread evenly by count over
100 pods, with skewed measured rates (a Zipf-like tail: a few hot partitions, many cold ones,
seeded so every run plans the same input). Both planners run ``--rounds`` times on it; the
figures are the median and best times, the moves, and the final max/avg load ratio of each.
Target: load-aware planning <= 20 ms, final ratio <= 1.10.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.load_rebalance import plan_load_rebalance, ratio  # noqa: E402
from orchestrator.rebalance import plan_rebalance  # noqa: E402

TARGET_MS = 20.0


def workload(partitions: int, pods: int, seed: int = 16) -> tuple[dict[str, list[int]], dict[int, float]]:
    """An even-by-count assignment and skewed per-partition loads (records/s)."""
    rng = random.Random(seed)
    assignment = {f"pod-{i}": list(range(i, partitions, pods)) for i in range(pods)}
    loads = {
        p: 50.0 + 5_000.0 / (1 + rng.random() * 400) ** 1.1 * rng.uniform(0.5, 1.5) for p in range(partitions)
    }
    return assignment, loads


def timed(plan: Callable[[], object], rounds: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = plan()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--partitions", type=int, default=10_000)
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    assignment, loads = workload(args.partitions, args.pods)
    partitions = range(args.partitions)
    # Interleaved rounds, so both planners see the same machine load.
    even_times: list[float] = []
    load_times: list[float] = []
    even = plan = None
    for _ in range(args.rounds):
        t, even = timed(lambda: plan_rebalance(assignment, partitions), 1)
        even_times += t
        t, plan = timed(lambda: plan_load_rebalance(assignment, loads, partitions), 1)
        load_times += t
    per_pod = {pod: sum(loads[p] for p in ps) for pod, ps in even.assignment.items()}
    print(f"input: {args.partitions} partitions x {args.pods} pods, ratio before {plan.ratio_before:.3f}")
    print(
        f"even-by-count (baseline): median {statistics.median(even_times):.2f} ms, "
        f"best {min(even_times):.2f} ms, {len(even.moves)} moves, ratio {ratio(list(per_pod.values())):.3f}"
    )
    print(
        f"load-aware: median {statistics.median(load_times):.2f} ms, best {min(load_times):.2f} ms, "
        f"{len(plan.moves)} moves (lower bound {plan.lower_bound}, optimal {plan.optimal}), "
        f"ratio {plan.ratio_after:.3f} (target {plan.target})"
    )
    ratio_time = statistics.median(load_times) / statistics.median(even_times)
    verdict = "ok" if statistics.median(load_times) <= TARGET_MS and plan.balanced else "MISSED"
    print(
        f"load-aware / even-by-count time: {ratio_time:.2f}x; "
        f"target <= {TARGET_MS:.0f} ms, ratio <= 1.10: {verdict}"
    )


if __name__ == "__main__":
    main()
