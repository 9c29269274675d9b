"""Validating a 10,000-pod spec: the validator now, beside the validator before the spec had one
declaration (issue 13 item 2), in the same run.

Run: ./dev bench spec_validation   (or: python benchmarks/spec_validation.py [--pods N] [--before REV])

The input is 50 entities of ``--pods`` / 50 pods (10,000 in all), each pod owning 10 of its
entity's partitions, with requests and limits, as a stored spec is read (no size limits). Three
validators run ``--rounds`` times each on the same document, alternating so that the machine's
load falls on all alike:

- **now**: :func:`orchestrator.validate_manifest` as it is in the working tree;
- **before** (the baseline): ``orchestrator/validation.py`` as it was at ``--before`` (default:
  the commit before the declaration), loaded beside the current modules under another name;
- **pydantic**: ``InvokerDeployment.model_validate`` of the declaration, for reference: it checks
  types only (no names, topics, quantities, ownership), which is why the walk stays hand-written.

Prints the median and best wall times, the median CPU times, the ratio now / before (target:
<= 1.05, i.e. not slower beyond noise) and the load average.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator import validate_manifest  # noqa: E402
from orchestrator.spec.schema import InvokerDeployment  # noqa: E402

BEFORE = "1dbc00a^"  # the commit before the declaration (now orchestrator/spec/schema.py)
TARGET_RATIO = 1.05


def manifest(pods: int, entities: int = 50, per_pod: int = 10) -> dict[str, Any]:
    """A valid deployment of ``pods`` pods over ``entities`` entities, chained topic to topic."""
    per_entity = pods // entities
    resources = {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}}
    return {
        "apiVersion": "invokeroperator.invoker.io/v1alpha1",
        "kind": "InvokerDeployment",
        "metadata": {"name": "bench"},
        "spec": {
            "statefulEntities": [
                {
                    "name": f"e{i}",
                    "executorImage": "invoker/executor:0.1",
                    "ioAddress": "127.0.0.1:9092",
                    "inputTopic": f"t{i}",
                    "outputTopic": f"t{i + 1}",
                    "inputPartitions": per_entity * per_pod,
                    "pods": [
                        {
                            "name": f"e{i}-{j}",
                            "partitions": list(range(j * per_pod, (j + 1) * per_pod)),
                            "resources": resources,
                        }
                        for j in range(per_entity)
                    ],
                }
                for i in range(entities)
            ]
        },
    }


#: Where the old validator's imports live since the orchestrator was split into sub-packages.
MOVED = {  # in this order: the first rewrite's result must not match the last's pattern
    "from orchestrator.spec ": "from orchestrator.spec.model ",
    "from orchestrator import value_checks": "from orchestrator.spec import value_checks",
    "from orchestrator.consistency ": "from orchestrator.spec.consistency ",
    "from orchestrator.fields ": "from orchestrator.spec.fields ",
    "from orchestrator.image_reference ": "from orchestrator.spec.image_reference ",
    "from orchestrator.resources ": "from orchestrator.spec.resources ",
}


def validator_at(revision: str) -> ModuleType:
    """``orchestrator/validation.py`` as it was at ``revision`` (before the split), importable
    beside today's, its imports pointed at where those modules live now."""
    source = subprocess.run(
        ["git", "show", f"{revision}:orchestrator/validation.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for was, now in MOVED.items():
        source = source.replace(was, now)
    spec = importlib.util.spec_from_loader("orchestrator._validation_before", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{revision}:orchestrator/validation.py", "exec"), module.__dict__)
    return module


def timed(run: Callable[[], object]) -> tuple[float, float, object]:
    """Wall and CPU milliseconds of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--before", default=BEFORE, help="the revision of the baseline validator")
    args = parser.parse_args()
    document = manifest(args.pods)
    before = validator_at(args.before)
    runs: dict[str, Callable[[], object]] = {
        "now": lambda: validate_manifest(document),
        "before": lambda: before.validate_manifest(document),
        "pydantic": lambda: InvokerDeployment.model_validate(document),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            wall, cpu, result = timed(run)
            if name != "pydantic" and result:
                print(f"{name}: the benchmark's spec is invalid: {result[:3]}", file=sys.stderr)
                return 2
            times[name].append((wall, cpu))
    entities = len(document["spec"]["statefulEntities"])
    print(f"validating {args.pods} pods ({entities} entities), {args.rounds} rounds")
    for name, figures in times.items():
        walls, cpus = [w for w, _ in figures], [c for _, c in figures]
        print(
            f"  {name:8} median {statistics.median(walls):7.1f} ms  best {min(walls):7.1f} ms"
            f"  cpu median {statistics.median(cpus):7.1f} ms"
        )
    ratio = statistics.median(c for _, c in times["now"]) / statistics.median(c for _, c in times["before"])
    verdict = "ok" if ratio <= TARGET_RATIO else "SLOWER"
    print(f"  now / before (median cpu): {ratio:.3f} (target <= {TARGET_RATIO}) {verdict}")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
