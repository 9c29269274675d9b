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
  its partitions again and has committed a batch begun after it (the target is <= 2 s).

The totals are checked exact at the end. Env: KAFKA_BOOTSTRAP_SERVERS is not used (own broker);
INVOKER_STATE_REDIS_URL (else REDIS_URL) for the state store.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
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
from tests.executor.services import PrivateKafka, TransactionProbe  # noqa: E402
from tests.localpod import PodProcesses  # noqa: E402
from tests.polling import wait_until  # noqa: E402

TARGET_S = 2.0
RATE = 3000  # lines per second, about 10,000 words per second
ENV = {"INVOKER_HANDOFF_GRACE_MS": "3000"}


def committed(pod: PodProcesses) -> float:
    return pod.metrics().get(("invoker_transactions_total", (("outcome", "committed"),)), 0.0)


def owns_everything(pod: PodProcesses) -> bool:
    owned = [v for (name, _), v in pod.metrics().items() if name == "invoker_partition_owned"]
    return bool(owned) and all(v == 1 for v in owned)


def resume_times(pods: list[PodProcesses], since: float, timeout: float = 180) -> dict[str, float]:
    """Seconds from `since` until each pod owns all its partitions and has committed a batch that
    began after `since` (its count of committed transactions moved by more than one)."""
    start = {pod.name: committed(pod) for pod in pods}
    resumed: dict[str, float] = {}

    def all_resumed() -> bool:
        for pod in pods:
            if pod.name not in resumed and committed(pod) > start[pod.name] + 1 and owns_everything(pod):
                resumed[pod.name] = time.monotonic() - since
        return len(resumed) == len(pods)

    wait_until(all_resumed, timeout, "every pod committing again", interval=0.05)
    return resumed


def one_round(topo: WordCountTopology, broker: PrivateKafka) -> tuple[float, dict[str, float]]:
    """Stops and starts the broker mid-stream; returns (baseline seconds, per-pod resume seconds)."""
    before = committed(topo.summer.pods["summer-0"])
    wait_until(lambda: committed(topo.summer.pods["summer-0"]) > before + 10, 120, "the sum pod committing")
    broker.stop()
    probe = TransactionProbe(broker.bootstrap, f"{topo.name}-probe")
    probe.start()
    answered = broker.start()
    transactional = probe.wait(timeout=180)
    return transactional - answered, resume_times(topo.pods(), since=transactional)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="broker restarts (each costs a JVM start)")
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
    print(
        f"  slowest pod per round: p50 {pct(slowest, 50):.2f} s, max {max(slowest):.2f} s "
        f"(target <= {TARGET_S:.0f} s); broker's own recovery p50 {pct([b for b, _ in rows], 50):.2f} s"
    )


def report_round(number: int, baseline: float, pods: dict[str, float]) -> None:
    print(f"  round {number}: baseline (broker answers -> a bare transaction commits): {baseline:.2f} s")
    for pod, seconds in sorted(pods.items()):
        mark = "ok" if seconds <= TARGET_S else "OVER"
        print(f"    {pod:<12} resumed {seconds:6.2f} s after that  [{mark}]")


if __name__ == "__main__":
    main()
