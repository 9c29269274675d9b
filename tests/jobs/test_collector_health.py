"""The collector's live health: pods per phase, the top reasons and dead letters per entity in
the status it pushes, scraped from a real Prometheus endpoint with the executor's metric names."""

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from jobs.collector import collect
from orchestrator.reconciler.backend import Observed, PodState

CRASH = "container udf exited with code 2: ValueError: no such model: wc"


@pytest.fixture
def dead_letter_endpoint() -> Iterator[str]:
    """A real endpoint whose pod sent 4 + 3 records to the dead-letter topic."""
    registry = CollectorRegistry()
    dead = Counter("invoker_dead_letters", "dead letters", ["partition"], registry=registry)
    dead.labels("0").inc(4)
    dead.labels("1").inc(3)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield f"http://127.0.0.1:{server.server_port}/metrics"
    server.shutdown()
    thread.join(timeout=5)


class ThreePodBackend:
    """Three pods as a backend reports them: one running (a real endpoint), two crash-looping."""

    def __init__(self, url: str) -> None:
        self.url = url

    def observe(self, name: str) -> Observed:
        running = PodState("wc.splitter-0-x", "u0", "splitter", "splitter-0", "Running", True, 0, self.url)
        looping = [
            PodState(
                f"wc.totals-{n}-x",
                f"u{n}",
                "totals",
                f"totals-{n}",
                "CrashLoop",
                False,
                5,
                None,
                "CrashLoopBackOff",
                CRASH,
            )
            for n in (1, 2)
        ]
        return Observed(pods=[running, *looping])


def test_the_status_counts_pods_per_phase_names_top_reasons_and_dead_letters_per_entity(
    deployment, dead_letter_endpoint: str
) -> None:
    payload = collect(deployment, ThreePodBackend(dead_letter_endpoint))
    components = payload["status"]["components"]
    assert components["podPhases"] == {"CrashLoop": 2, "Running": 1}
    assert components["topReasons"] == [
        {"phase": "CrashLoop", "reason": "CrashLoopBackOff", "message": CRASH, "pods": 2}
    ]
    assert components["deadLetters"] == {"splitter": 7.0, "totals": 0.0}
    splitter = next(p for p in payload["pods"] if p["entity"] == "splitter")
    assert splitter["deadLetters"] == 7.0
    totals = [p for p in payload["pods"] if p["entity"] == "totals"]
    assert [(p["phase"], p["reason"], p["restarts"]) for p in totals] == [
        ("CrashLoop", "CrashLoopBackOff", 5)
    ] * 2
