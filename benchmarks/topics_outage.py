"""How long a broker outage holds a reconcile pass's topic step (``orchestrator.reconciler.topics``).

Run: ./dev bench topics_outage   (or: python benchmarks/topics_outage.py [--rounds N])

Times ``reconcile_topics`` against a loopback port nothing listens on (p50 and max of
``--rounds`` runs). The baseline, measured in the same run, is one bare ``KafkaAdminClient``
bootstrap attempt with the same bootstrap timeout; the ratio says what the retries add to the
least a single attempt costs. The target is a pass that gives up within a few seconds (under
8 s), so an outage does not stall the reconciler; the unit test asserts the configured bounds.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from orchestrator.reconciler.topics import BOOTSTRAP_TIMEOUT_MS, reconcile_topics
from orchestrator.spec.model import DeploymentSpec, EntitySpec, PodSpec

TARGET_S = 8.0


def closed_address() -> str:
    """A loopback address nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def one_entity(bootstrap: str) -> DeploymentSpec:
    entity = EntitySpec("e", "x/e:1", bootstrap, "in", "out", pods=(PodSpec("e-0", (0,)),))
    return DeploymentSpec("outage", (entity,))


def bare_bootstrap() -> None:
    try:
        KafkaAdminClient(bootstrap_servers=closed_address(), bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS)
    except KafkaError:
        return
    raise SystemExit("a closed port answered")


def pass_against_outage() -> None:
    report = reconcile_topics(one_entity(closed_address()))
    if not report.broker_unavailable:
        raise SystemExit(f"expected BrokerUnavailable, got {report.message}")


def timed(action: Callable[[], None], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.monotonic()
        action()
        times.append(time.monotonic() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    baseline = statistics.median(timed(bare_bootstrap, rounds))
    outage = timed(pass_against_outage, rounds)
    p50 = statistics.median(outage)
    print(f"bare bootstrap attempt (baseline): p50 {baseline:.2f} s")
    print(f"reconcile_topics, broker down:     p50 {p50:.2f} s, max {max(outage):.2f} s")
    print(f"ratio to baseline: {p50 / baseline:.1f}x; target max < {TARGET_S:.0f} s: ", end="")
    print("met" if max(outage) < TARGET_S else "MISSED")


if __name__ == "__main__":
    main()
