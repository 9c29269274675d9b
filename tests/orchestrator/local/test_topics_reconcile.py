"""The reconcile pass with topics (``Target.manage_topics``), against the local backend, a runtime
and the real broker: a deployment is Ready only with its topics in place, and a broker outage
applies nothing."""

from __future__ import annotations

from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic

from orchestrator import parse_deployment
from orchestrator.local import LocalBackend
from orchestrator.local.runtime import Runtime
from orchestrator.reconciler.reconcile import ReconcileResult, Target, reconcile
from tests.kafka_topics import partitions, settles_to
from tests.orchestrator.local.helpers import manifest, sync_until
from tests.servers import free_port


def with_topics(bootstrap: str, suffix: str, declared: int = 2) -> dict[str, Any]:
    source = manifest(pods={"e-0": [0], "e-1": [1]}, io_address=bootstrap)
    entity = source["spec"]["statefulEntities"][0]
    entity.update(inputTopic=f"in-{suffix}", outputTopic=f"out-{suffix}", inputPartitions=declared)
    return source


def target(source: dict[str, Any]) -> Target:
    return Target(parse_deployment(source), "rev-1", 1, "redis://127.0.0.1:16379/0", manage_topics=True)


def test_the_reconcile_creates_the_topics_before_the_deployment_goes_ready(
    backend: LocalBackend, runtime: Runtime, kafka_bootstrap: str, suffix: str, admin: KafkaAdminClient
) -> None:
    assert partitions(admin, f"in-{suffix}", f"out-{suffix}") == {f"in-{suffix}": None, f"out-{suffix}": None}
    results: list[ReconcileResult] = []

    def ready() -> bool:
        results.append(reconcile(target(with_topics(kafka_bootstrap, suffix)), backend))
        assert results[-1].error is None, results[-1].error
        return results[-1].status["state"] == "Ready"

    sync_until(runtime, ready, 30, "the deployment to be Ready")
    first = results[0]
    assert {r.want.topic: r.action for r in first.topics.results} == {
        f"in-{suffix}": "created",
        f"out-{suffix}": "created",
    }
    settles_to(admin, {f"in-{suffix}": 2, f"out-{suffix}": 2})
    ready_condition, topics = results[-1].status["conditions"]
    assert (ready_condition["status"], topics["type"], topics["status"]) == ("True", "TopicsReady", "True")


def test_running_pods_on_an_oversized_topic_are_degraded_with_the_reason_never_ready(
    backend: LocalBackend, runtime: Runtime, kafka_bootstrap: str, suffix: str, admin: KafkaAdminClient
) -> None:
    admin.create_topics([NewTopic(f"in-{suffix}", 5, 1)])
    settles_to(admin, {f"in-{suffix}": 5})
    source = with_topics(kafka_bootstrap, suffix)

    def pods_run() -> ReconcileResult | None:
        result = reconcile(target(source), backend)
        assert result.status["state"] != "Ready"
        running = [pod for pod in backend.observe("demo").pods if pod.ready]
        return result if len(running) == 2 and not result.changes else None

    result = sync_until(runtime, pods_run, 30, "both pods to run")
    assert result.status["state"] == "Degraded"
    ready_condition, topics = result.status["conditions"]
    expected = f"input topic 'in-{suffix}' has 5 partitions, 2 declared; a topic is never shrunk"
    assert (ready_condition["reason"], ready_condition["message"]) == ("PartitionCountMismatch", expected)
    assert (topics["status"], topics["reason"]) == ("False", "PartitionCountMismatch")
    settles_to(admin, {f"in-{suffix}": 5, f"out-{suffix}": 2})


def test_an_unreachable_broker_applies_nothing_and_says_so(backend: LocalBackend, suffix: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = reconcile(target(with_topics(address, suffix)), backend)
    assert result.error is not None
    assert result.error.startswith(f"Kafka at {address} is not reachable")
    assert not result.permanent  # the caller retries with back-off
    assert result.status["state"] == "Degraded"
    assert [(c["type"], c["status"], c["reason"]) for c in result.status["conditions"]] == [
        ("Ready", "False", "BrokerUnavailable"),
        ("TopicsReady", "False", "BrokerUnavailable"),
    ]
    observed = backend.observe("demo")
    assert observed.root is None
    assert not any(observed.objects.values())
    assert result.writes == 0
