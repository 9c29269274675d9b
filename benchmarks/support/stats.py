"""Figures the benchmarks print (kept out of benchmarks/*.py, which `./dev bench` runs each of)."""

import statistics


def pct(samples: list[float], q: int) -> float:
    """The ``q``-th percentile of ``samples`` (inclusive method); a single sample is its own."""
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]
