"""jobs.finish_drain: it reads the new owners' ``invoker_partition_owned`` gauges from their
real Prometheus endpoints and removes the drained pod only once each moved partition is
consumed by its new owner."""

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from jobs import drain
from orchestrator.reconciler.backend import Observed, PodState
from topology_editor import services
from topology_editor.models import AuditEntry, Interface
from topology_editor.services.drain import drain_pod
from topology_editor.spec_rows import spec_from_rows

NAME = "word-count-demo"


@pytest.fixture
def endpoints() -> Iterator[dict[str, Gauge]]:
    """Two real endpoints, totals-0's and totals-1's, exposing the executor's ownership gauge."""
    gauges, servers = {}, []
    for pod in ("totals-0", "totals-1"):
        registry = CollectorRegistry()
        gauges[pod] = Gauge("invoker_partition_owned", "owned", ["partition"], registry=registry)
        servers.append(start_http_server(0, addr="127.0.0.1", registry=registry))
    gauges["urls"] = [f"http://127.0.0.1:{server.server_port}/metrics" for server, _ in servers]
    yield gauges
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=5)


class PodsBackend:
    """The pod list a backend reports, pointing at the real endpoints (the rest is unused here)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls

    def observe(self, name: str) -> Observed:
        pods = [
            PodState(f"{NAME}.totals-{i}-x", f"uid-{i}", "totals", f"totals-{i}", "Running", True, 0, url)
            for i, url in enumerate(self.urls)
        ]
        return Observed(pods=pods)


def test_the_pod_goes_only_after_its_partitions_are_consumed_by_their_new_owners(
    deployment, endpoints, monkeypatch
):
    for pod in ("totals-1", "totals-2"):
        services.add_pod(NAME, "totals", {"name": pod}, actor=None, interface=Interface.CLI)
    services.rebalance_entity(NAME, "totals", actor=None, interface=Interface.CLI)
    result = drain_pod(NAME, "totals", "totals-2", actor=None, interface=Interface.CLI)
    moves = [[m.partition, m.to_pod] for m in result.plan.moves]
    assert moves == [[4, "totals-0"], [5, "totals-1"]]
    monkeypatch.setattr(drain, "get_backend", lambda: PodsBackend(endpoints["urls"]))
    sent = []
    monkeypatch.setattr(drain.finish_drain_task, "apply_async", lambda **kw: sent.append(kw))

    endpoints["totals-0"].labels("4").set(1)
    endpoints["totals-1"].labels("5").set(0)  # still waiting for totals-2 to release it
    assert drain.finish_drain_task(NAME, "totals", "totals-2", moves, "drain") == "waiting"
    assert [p.name for p in spec_from_rows(deployment).entity("totals").pods][-1] == "totals-2"
    assert sent[0]["countdown"] == drain.POLL_SECONDS

    endpoints["totals-1"].labels("5").set(1)
    assert drain.finish_drain_task(NAME, "totals", "totals-2", moves, "drain") == "removed"
    assert [p.name for p in spec_from_rows(deployment).entity("totals").pods] == ["totals-0", "totals-1"]
    assert AuditEntry.objects.filter(action="drain").count() == 2


def test_a_takeover_that_never_comes_leaves_the_pod_cordoned_and_says_so(deployment, endpoints, monkeypatch):
    services.add_pod(NAME, "totals", {"name": "totals-1"}, actor=None, interface=Interface.CLI)
    result = drain_pod(NAME, "totals", "totals-0", actor=None, interface=Interface.CLI)
    moves = [[m.partition, m.to_pod] for m in result.plan.moves]
    monkeypatch.setattr(drain, "get_backend", lambda: PodsBackend(endpoints["urls"]))
    long_ago = 0.0
    assert drain.finish_drain_task(NAME, "totals", "totals-0", moves, "drain", long_ago) == "timeout"
    assert [p.name for p in spec_from_rows(deployment).entity("totals").pods] == ["totals-0", "totals-1"]
    entry = AuditEntry.objects.get(action="drain_timeout")
    assert "totals-0 stays cordoned" in entry.summary
