"""A deployment built through the API: the reconcile creates its topics, and what the topics step
found is a condition on the status endpoint, in the collector's status (the dashboard's status
bar) and in the state."""

import socket

import pytest
from celery.exceptions import Retry
from kafka.admin import KafkaAdminClient

from jobs.backends import get_backend
from jobs.collector import status_of
from jobs.tasks import reconcile_deployment
from tests.polling import wait_until
from tests.topology.conftest import api, example_manifest, personas  # noqa: F401 (fixtures)
from tests.topology.helpers import deployment_url
from topology_editor.models import Deployment

pytestmark = pytest.mark.usefixtures("local_backend")


def build(api, suffix: str, address: str) -> str:  # noqa: F811 (the fixture, passed in)
    """POSTs the example with this run's topic names, as the editor saves a new deployment."""
    manifest = example_manifest()
    manifest["metadata"]["name"] = f"topics-{suffix}"
    splitter, totals = manifest["spec"]["statefulEntities"]
    splitter.update(inputTopic=f"lines-{suffix}", outputTopic=f"ux-words-{suffix}", ioAddress=address)
    totals.update(inputTopic=f"ux-words-{suffix}", outputTopic=f"counts-{suffix}", ioAddress=address)
    totals["inputPartitions"] = 6
    response = api("editor").post("/api/deployments/", manifest, format="json")
    assert response.status_code == 201, response.content
    return manifest["metadata"]["name"]


def counts(admin: KafkaAdminClient, *topics: str) -> dict[str, int | None]:
    described = admin.describe_topics(list(topics))
    return {t["name"]: len(t["partitions"]) if t["error_code"] == 0 else None for t in described}


def test_the_reconcile_creates_a_new_deployments_topics_and_reports_them(
    api,  # noqa: F811
    kafka_bootstrap: str,
    redis_url: str,
    suffix: str,
    admin: KafkaAdminClient,
) -> None:
    name = build(api, suffix, kafka_bootstrap)
    topics = (f"lines-{suffix}", f"ux-words-{suffix}", f"counts-{suffix}")
    assert set(counts(admin, *topics).values()) == {None}
    reconcile_deployment.apply(args=[name, "test"]).get()
    expected = dict(zip(topics, (6, 6, 6), strict=True))
    wait_until(lambda: counts(admin, *topics) == expected, 10, f"the topics to be {expected}")
    body = api("viewer").get(deployment_url(name, "status")).json()
    assert body["state"] == "Pending"  # no runtime runs its pods here: topics alone are not Ready
    ready, topics_ready = body["conditions"]
    assert ready["type"] == "Ready"
    assert (topics_ready["type"], topics_ready["status"], topics_ready["reason"]) == (
        "TopicsReady",
        "True",
        "TopicsReconciled",
    )
    assert set(topics_ready) == {"type", "status", "reason", "message", "lastTransitionTime"}


def test_an_unreachable_broker_is_broker_unavailable_on_the_status_and_nothing_is_applied(
    api,  # noqa: F811
    redis_url: str,
    suffix: str,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    name = build(api, suffix, address)
    with pytest.raises(Retry):  # a direct call raises what the worker would schedule: a back-off
        reconcile_deployment(name, "test")
    body = api("viewer").get(deployment_url(name, "status")).json()
    assert body["state"] == "Degraded"
    assert [(c["type"], c["status"], c["reason"]) for c in body["conditions"]] == [
        ("Ready", "False", "BrokerUnavailable"),
        ("TopicsReady", "False", "BrokerUnavailable"),
    ]
    assert body["status_message"].startswith(f"Kafka at {address} is not reachable")
    observed = get_backend().observe(name)
    assert observed.root is None
    assert not any(observed.objects.values())
    bar = status_of(Deployment.objects.get(name=name))  # what the dashboard's status bar is sent
    assert [c["reason"] for c in bar["conditions"]] == ["BrokerUnavailable", "BrokerUnavailable"]
