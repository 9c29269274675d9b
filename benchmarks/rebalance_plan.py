"""Load-aware rebalance planning time, beside the even-by-count planner in the same run.

Run: ./dev bench rebalance_plan   (or: python benchmarks/rebalance_plan.py [--partitions N] [--pods N])

The input is what a rebalance meets in practice: 10,000 partitions spread evenly by count over
100 pods, with skewed measured rates (a Zipf-like tail: a few hot partitions, many cold ones,
seeded so every run plans the same input). Both planners run ``--rounds`` times on it; the
figures are the median and best wall times, the median CPU time (what the plan costs when the
machine is loaded), the moves, and the final max/avg load ratio of each, and the load average.
Target: load-aware planning <= 20 ms, final ratio <= 1.10.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.planning.load_rebalance import plan_load_rebalance, ratio  # noqa: E402
from orchestrator.planning.rebalance import plan_rebalance  # noqa: E402

TARGET_MS = 20.0


def workload(partitions: int, pods: int, seed: int = 16) -> tuple[dict[str, list[int]], dict[int, float]]:
    """An even-by-count assignment and skewed per-partition loads (records/s)."""
    rng = random.Random(seed)
    assignment = {f"pod-{i}": list(range(i, partitions, pods)) for i in range(pods)}
    loads = {
        p: 50.0 + 5_000.0 / (1 + rng.random() * 400) ** 1.1 * rng.uniform(0.5, 1.5) for p in range(partitions)
    }
    return assignment, loads


def timed(plan: Callable[[], object]) -> tuple[float, float, object]:
    """Wall and CPU milliseconds of one call, and its result. On a loaded machine the wall time
    includes waiting for a core; the CPU time is what the plan itself costs."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = plan()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, result


def figures(name: str, wall: list[float], cpu: list[float]) -> str:
    return (
        f"{name}: wall median {statistics.median(wall):.2f} ms (best {min(wall):.2f}), "
        f"cpu median {statistics.median(cpu):.2f} ms"
    )


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
    times: dict[str, tuple[list[float], list[float]]] = {"even": ([], []), "load": ([], [])}
    even = plan = None
    for _ in range(args.rounds):
        wall, cpu, even = timed(lambda: plan_rebalance(assignment, partitions))
        times["even"][0].append(wall)
        times["even"][1].append(cpu)
        wall, cpu, plan = timed(lambda: plan_load_rebalance(assignment, loads, partitions))
        times["load"][0].append(wall)
        times["load"][1].append(cpu)
    per_pod = {pod: sum(loads[p] for p in ps) for pod, ps in even.assignment.items()}
    print(f"input: {args.partitions} partitions x {args.pods} pods, ratio before {plan.ratio_before:.3f}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(
        figures("even-by-count (baseline)", *times["even"])
        + f", {len(even.moves)} moves, ratio {ratio(list(per_pod.values())):.3f}"
    )
    print(
        figures("load-aware", *times["load"])
        + f", {len(plan.moves)} moves (lower bound {plan.lower_bound}, optimal {plan.optimal}), "
        f"ratio {plan.ratio_after:.3f} (target {plan.target})"
    )
    wall_median = statistics.median(times["load"][0])
    cpu_median = statistics.median(times["load"][1])
    ratio_time = cpu_median / max(1e-9, statistics.median(times["even"][1]))
    verdict = "ok" if wall_median <= TARGET_MS and plan.balanced else "MISSED"
    print(
        f"load-aware / even-by-count cpu time: {ratio_time:.2f}x; target <= {TARGET_MS:.0f} ms wall "
        f"(cpu {cpu_median:.2f} ms), ratio <= 1.10: {verdict}"
    )


if __name__ == "__main__":
    main()
