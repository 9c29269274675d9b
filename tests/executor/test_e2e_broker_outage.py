"""End to end: the broker goes away and comes back; processing must resume within seconds of
its return and the totals stay exact. The broker is this module's own (`./dev start kafka` on
free ports), so stopping it disturbs no other test.

The figure to watch is printed: seconds from the broker being able to commit transactions again
(a probe commits one every 0.1 s; after a restart that comes a few seconds after the broker
answers metadata requests, while it loads its coordinators) to every pod having committed a
batch. The target is 2 s; it is printed, not asserted, since timing on a shared 2-core machine
is no unit-test material (the waits bound it at 120 s).
"""

import time

import pytest

from tests.executor.harness import LineProducer, make_lines, reassign_and_wait, split, wait_for_exact_totals
from tests.executor.services import TransactionProbe
from tests.executor.test_e2e_state_loss import LINES, RATE, committed
from tests.localpod import PodProcesses
from tests.polling import wait_until

pytestmark = pytest.mark.slow


def pod_committed(pod: PodProcesses) -> float:
    return pod.metrics().get(("invoker_transactions_total", (("outcome", "committed"),)), 0.0)


def owns_everything(pod: PodProcesses) -> bool:
    owned = [v for (name, _), v in pod.metrics().items() if name == "invoker_partition_owned"]
    return bool(owned) and all(v == 1 for v in owned)


def resume_seconds(pods: list[PodProcesses], since: float, timeout: float) -> float:
    """Seconds from `since` until every pod owns all its partitions and has committed a batch
    that began after `since`: the count of committed transactions moved by more than one."""
    start = {pod.name: pod_committed(pod) for pod in pods}
    resumed: dict[str, float] = {}

    def all_resumed() -> bool:
        for pod in pods:
            if pod.name not in resumed and pod_committed(pod) > start[pod.name] + 1 and owns_everything(pod):
                resumed[pod.name] = time.monotonic() - since
        return len(resumed) == len(pods)

    wait_until(all_resumed, timeout, "every pod committing again", interval=0.05)
    errors: dict[str, float] = {}
    for pod in pods:
        for (name, labels), value in pod.metrics().items():
            if name == "invoker_errors_total" and value:
                errors[dict(labels)["kind"]] = errors.get(dict(labels)["kind"], 0) + value
    print(f"resumed after the broker answered again (s): {resumed}; retried failures by kind: {errors}")
    return max(resumed.values())


def test_processing_resumes_within_seconds_of_a_broker_restart(topology, private_kafka):
    topo = topology(bootstrap=private_kafka.bootstrap)
    producer = LineProducer(topo.bootstrap, topo.lines_topic, topo.PARTITIONS, idempotent=False)
    producer.start(make_lines(LINES, seed=21), per_second=RATE)
    try:
        topo.summer.assign(split(6, 1, "summer"))
        reassign_and_wait(topo.counter, split(6, 3, "splitter"))
        before = committed(topo.summer)
        wait_until(lambda: committed(topo.summer) > before + 10, 60, "the sum pod committing batches")
        private_kafka.stop()  # controlled shutdown, mid-stream: transactions are in flight
        probe = TransactionProbe(private_kafka.bootstrap, f"{topo.name}-probe")
        probe.start()
        answered = private_kafka.start()
        transactional = probe.wait(timeout=120)
        seconds = resume_seconds(topo.pods(), since=transactional, timeout=120)
        print(
            f"the broker answered metadata requests {transactional - answered:.1f}s before it could "
            f"commit a transaction; processing resumed {seconds:.2f}s after that"
        )
        wait_until(lambda: producer.sent >= LINES, 120, f"{LINES} lines produced")
    finally:
        producer.stop()
    # The resume time is a figure, printed above and reported in docs/executor.md, not a pass mark:
    # on a shared 2-core machine it swings with load. Resuming at all is bounded by the waits above.
    assert seconds > 0
    wait_for_exact_totals(topo)
