"""Measuring how soon pods process again after a broker outage, for the outage test and
benchmarks/broker_outage.py alike.

Each pod's metrics are scraped in a thread of its own from before the broker goes away, so a
resume is seen within one scrape (about 0.1 s on a loaded machine) rather than after a round
of scrapes of every pod, which took over 2 s at a load of 16 on 2 cores.
"""

from __future__ import annotations

import threading
import time
import urllib.error
from dataclasses import dataclass

from executor.kafka_clients import broker_listening
from tests.localpod import PodProcesses
from tests.polling import wait_until


def committed(samples: dict) -> float:
    return samples.get(("invoker_transactions_total", (("outcome", "committed"),)), 0.0)


def owns_everything(samples: dict) -> bool:
    owned = [v for (name, _), v in samples.items() if name == "invoker_partition_owned"]
    return bool(owned) and all(v == 1 for v in owned)


def retried_failures(pods: list[PodProcesses]) -> dict[str, float]:
    """`invoker_errors_total` summed over the pods, by kind (what the outage cost them)."""
    errors: dict[str, float] = {}
    for pod in pods:
        for (name, labels), value in pod.metrics().items():
            if name == "invoker_errors_total" and value:
                kind = dict(labels)["kind"]
                errors[kind] = errors.get(kind, 0) + value
    return errors


@dataclass
class Sample:
    started: float  # monotonic, when the scrape was sent
    finished: float  # monotonic, when its answer was read
    committed: float
    owns_everything: bool


class ResumeWatch:
    """Scrapes each pod's metrics continuously; say when each committed again after a moment."""

    def __init__(self, pods: list[PodProcesses], interval: float = 0.05) -> None:
        self.pods, self.interval = pods, interval
        self.samples: dict[str, list[Sample]] = {pod.name: [] for pod in pods}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._scrape, args=(pod,), daemon=True) for pod in pods]

    def __enter__(self) -> ResumeWatch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def resumed(self, since: float, timeout: float) -> dict[str, float]:
        """Seconds from `since` until each pod owns all its partitions and has committed a
        transaction more than its first scrape begun at or after `since` showed."""
        resumed: dict[str, float] = {}

        def all_resumed() -> bool:
            for name, samples in self.samples.items():
                seconds = self._resumed(list(samples), since)
                if seconds is not None:
                    resumed[name] = seconds
            return len(resumed) == len(self.samples)

        wait_until(all_resumed, timeout, "every pod committing again", interval=0.05)
        return resumed

    def gave_up(self, since: float) -> dict[str, float]:
        """Seconds from `since` until each pod that gave up its partitions was first seen owning
        fewer than all: it noticed the broker was gone and abandoned its transactions in flight.

        Only a pod with a step in flight has one to abandon: a pod that was waiting for records
        when the broker went (the sum pod, between two commits of its writers) keeps its
        partitions and its producer through the outage, and is not listed."""
        gave_up: dict[str, float] = {}
        for name, samples in self.samples.items():
            first = next((s for s in list(samples) if s.started >= since and not s.owns_everything), None)
            if first is not None:
                gave_up[name] = first.finished - since
        return gave_up

    @staticmethod
    def _resumed(samples: list[Sample], since: float) -> float | None:
        after = [s for s in samples if s.started >= since]
        if not after:
            return None
        base = after[0].committed
        for sample in after[1:]:
            if sample.committed > base and sample.owns_everything:
                return sample.finished - since
        return None

    def _scrape(self, pod: PodProcesses) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                samples = pod.metrics()
            except (OSError, urllib.error.URLError):
                self._stop.wait(self.interval)
                continue
            self.samples[pod.name].append(
                Sample(started, time.monotonic(), committed(samples), owns_everything(samples))
            )
            self._stop.wait(self.interval)


class RefusalWatch:
    """The moment a broker stops listening, probed every 20 ms in a thread of its own while the
    ``with`` block stops it: a controlled shutdown stops accepting connections some seconds before
    its process exits, and the pods can only notice the former."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.refused_at: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="refusal-watch", daemon=True)

    @property
    def at(self) -> float:
        """When the broker first refused a connection (``time.monotonic()``)."""
        assert self.refused_at is not None, f"{self.bootstrap} never refused a connection while stopped"
        return self.refused_at

    def __enter__(self) -> RefusalWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        # Probed once more after the block ended: by then the broker's process has exited.
        while True:
            if not broker_listening(self.bootstrap, timeout=0.2):
                self.refused_at = time.monotonic()
                return
            if self._done.is_set():
                return
            time.sleep(0.02)
