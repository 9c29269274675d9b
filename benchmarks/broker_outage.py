"""How soon each pod processes again after a broker restart (issue 17 item 6; target <= 2 s).

    python benchmarks/broker_outage.py [--rounds N]      (or: ./dev bench broker_outage)

A broker of its own (`./dev start kafka` on free ports and a temporary run directory, so the
shared broker is never touched), the word-count -> sum topology (3 word-count pods, 1 sum pod)
under a steady load of about 10,000 words/s, then per round: a controlled broker stop mid-stream
and a start. Printed per round and per pod:

- baseline: seconds from the broker answering metadata requests to a bare transactional
  producer committing a one-record transaction (probed every 0.1 s). This is the broker's own
  recovery, which no client can beat, measured in the same run;
- each pod's resume time: seconds from that first committed transaction until the pod owns all
  its partitions again and has committed a transaction (the target is <= 2 s), seen by scraping
  each pod's metrics in a thread of its own (tests/executor/outage.py).

At the end, over the rounds (default 3): p50 and max of the slowest pod's resume beside the
baseline's, and of the two together (from the broker answering to every pod committing).

The totals are checked exact at the end. Env: KAFKA_BOOTSTRAP_SERVERS is not used (own broker);
INVOKER_STATE_REDIS_URL (else REDIS_URL) for the state store.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.support.stats import pct  # noqa: E402
from tests.executor.harness import (  # noqa: E402
    LineProducer,
    WordCountTopology,
    make_lines,
    reassign_and_wait,
    split,
    wait_for_exact_totals,
)
from tests.executor.outage import ResumeWatch, committed  # noqa: E402
from tests.executor.services import PrivateKafka, TransactionProbe  # noqa: E402
from tests.polling import wait_until  # noqa: E402

TARGET_S = 2.0
RATE = 3000  # lines per second, about 10,000 words per second
ENV = {"INVOKER_HANDOFF_GRACE_MS": "3000"}


def one_round(topo: WordCountTopology, broker: PrivateKafka) -> tuple[float, dict[str, float]]:
    """Stops and starts the broker mid-stream; returns (baseline seconds, per-pod resume seconds)."""
    summer = topo.summer.pods["summer-0"]
    before = committed(summer.metrics())
    wait_until(lambda: committed(summer.metrics()) > before + 10, 120, "the sum pod committing")
    with ResumeWatch(topo.pods()) as watch:
        broker.stop()
        probe = TransactionProbe(broker.bootstrap, f"{topo.name}-probe")
        probe.start()
        answered = broker.start()
        transactional = probe.wait(timeout=180)
        resumed = watch.resumed(since=transactional, timeout=180)
    return transactional - answered, resumed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="broker restarts (each costs a JVM start)")
    parser.add_argument("--keep-logs", type=Path, help="copy the pods' logs into this directory")
    args = parser.parse_args()
    state_url = os.environ.get("INVOKER_STATE_REDIS_URL") or os.environ.get(
        "REDIS_URL", "redis://127.0.0.1:16379/0"
    )
    broker = PrivateKafka()
    broker.start()
    print(f"broker outage: own broker {broker.bootstrap}, {args.rounds} round(s), {os.cpu_count()} cores")
    rows: list[tuple[float, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="inv-outage-", dir="/tmp") as work:
        topo = WordCountTopology(broker.bootstrap, state_url, Path(work), f"out-{uuid.uuid4().hex[:8]}", ENV)
        producer = LineProducer(broker.bootstrap, topo.lines_topic, topo.PARTITIONS, idempotent=False)
        try:
            producer.start(make_lines(RATE * 60 * (1 + 3 * args.rounds), seed=41), per_second=RATE)
            try:
                topo.summer.assign(split(6, 1, "summer"))
                reassign_and_wait(topo.counter, split(6, 3, "splitter"))
                for number in range(1, args.rounds + 1):
                    rows.append(one_round(topo, broker))
                    report_round(number, *rows[-1])
            finally:
                producer.stop()
            wait_for_exact_totals(topo, timeout=240)
            print("  totals exact after the outages: yes")
        finally:
            topo.stop()
            broker.remove()
            if args.keep_logs:
                shutil.copytree(
                    work, args.keep_logs, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.sock*")
                )
    slowest = [max(pods.values()) for _, pods in rows]
    baselines = [b for b, _ in rows]
    from_answer = [b + s for b, s in zip(baselines, slowest, strict=True)]
    print(
        f"  resume, slowest pod per round, after the broker commits again: p50 {pct(slowest, 50):.2f} s, "
        f"max {max(slowest):.2f} s (target <= {TARGET_S:.0f} s)\n"
        f"  baseline, the broker's own recovery (answers -> a bare transaction commits): "
        f"p50 {pct(baselines, 50):.2f} s, max {max(baselines):.2f} s\n"
        f"  both together (broker answers -> every pod committing): p50 {pct(from_answer, 50):.2f} s, "
        f"max {max(from_answer):.2f} s"
    )


def report_round(number: int, baseline: float, pods: dict[str, float]) -> None:
    print(f"  round {number}: baseline (broker answers -> a bare transaction commits): {baseline:.2f} s")
    for pod, seconds in sorted(pods.items()):
        mark = "ok" if seconds <= TARGET_S else "OVER"
        print(f"    {pod:<12} resumed {seconds:6.2f} s after that  [{mark}]")


if __name__ == "__main__":
    main()
