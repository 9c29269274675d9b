"""Topics as reconciled resources (`orchestrator.reconciler.topics`), on the real broker: created with their
declared counts, grown when smaller, never shrunk, and every problem a condition with a reason.

Topic names carry a per-test suffix, so runs never collide with each other or a running
`./dev up`."""

from __future__ import annotations

from dataclasses import replace

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from orchestrator.reconciler.backend import Observed, PodState, RetryableError
from orchestrator.reconciler.status import DEGRADED, PENDING, READY, Outcome, derive_status
from orchestrator.reconciler.topics import (
    AT_LEAST,
    ATTEMPTS,
    BOOTSTRAP_TIMEOUT_MS,
    BROKER_UNAVAILABLE,
    CREATE,
    EXACT,
    PARTITION_MISMATCH,
    REQUEST_TIMEOUT_MS,
    TOPIC_MISSING,
    TopicResult,
    TopicsReport,
    TopicWant,
    reconcile_topics,
    wanted_topics,
)
from orchestrator.spec.model import DeploymentSpec, EntitySpec, PodSpec
from tests.kafka_topics import partitions, settles_to
from tests.servers import free_port


def two_stage(bootstrap: str, suffix: str, lines: int | None = 4, words: int | None = 3) -> DeploymentSpec:
    """splitter reads lines (4 declared) and writes words, which totals reads (3 declared) and
    writes counts, a sink."""
    splitter = EntitySpec(
        "splitter",
        "x/e:1",
        bootstrap,
        f"lines-{suffix}",
        f"words-{suffix}",
        pods=(PodSpec("splitter-0", (0, 1)), PodSpec("splitter-1", (2, 3))),
        input_partitions=lines,
    )
    totals = EntitySpec(
        "totals",
        "x/e:1",
        bootstrap,
        f"words-{suffix}",
        f"counts-{suffix}",
        pods=(PodSpec("totals-0", (0, 1, 2)),),
        input_partitions=words,
    )
    return DeploymentSpec(f"topics-{suffix}", (splitter, totals))


def test_wanted_topics_take_the_downstream_count_and_a_sink_the_writers() -> None:
    wants = {w.topic: (w.partitions, w.policy, w.role) for w in wanted_topics(two_stage("b:9092", "s"))}
    assert wants == {
        "lines-s": (4, EXACT, "input topic"),
        "words-s": (3, EXACT, "output topic"),  # the reader declares it
        "counts-s": (3, CREATE, "output topic"),  # a sink: created with its writer's count
    }
    undeclared = two_stage("b:9092", "s", lines=None, words=None)
    assert {w.topic: (w.partitions, w.policy) for w in wanted_topics(undeclared)} == {
        "lines-s": (4, AT_LEAST),  # partitions 0-3 are owned, so they must exist
        "words-s": (3, AT_LEAST),
        "counts-s": (3, CREATE),
    }


def test_one_topic_on_two_brokers_is_two_topics() -> None:
    spec = two_stage("a:9092", "s")
    moved = replace(spec, entities=(spec.entities[0], replace(spec.entities[1], io_address="b:9092")))
    assert {(w.bootstrap, w.topic) for w in wanted_topics(moved)} == {
        ("a:9092", "lines-s"),
        ("a:9092", "words-s"),
        ("b:9092", "words-s"),
        ("b:9092", "counts-s"),
    }


def test_a_reconcile_creates_every_topic_with_its_declared_count(
    kafka_bootstrap: str, suffix: str, admin: KafkaAdminClient
) -> None:
    report = reconcile_topics(two_stage(kafka_bootstrap, suffix))
    assert report.ready, report.message
    assert {r.want.topic: r.action for r in report.results} == {
        f"lines-{suffix}": "created",
        f"words-{suffix}": "created",
        f"counts-{suffix}": "created",
    }
    settles_to(
        admin,
        {
            f"lines-{suffix}": 4,
            f"words-{suffix}": 3,
            f"counts-{suffix}": 3,
        },
    )
    assert report.condition() == {
        "type": "TopicsReady",
        "status": "True",
        "reason": "TopicsReconciled",
        "message": report.message,
    }
    again = reconcile_topics(two_stage(kafka_bootstrap, suffix))
    assert again.ready
    assert {r.action for r in again.results} == {"ok"}


def test_a_smaller_topic_is_grown_to_its_declared_count(
    kafka_bootstrap: str, suffix: str, admin: KafkaAdminClient
) -> None:
    admin.create_topics([NewTopic(f"words-{suffix}", 1, 1)])
    settles_to(admin, {f"words-{suffix}": 1})
    report = reconcile_topics(two_stage(kafka_bootstrap, suffix))
    assert report.ready, report.message
    (words,) = [r for r in report.results if r.want.topic == f"words-{suffix}"]
    assert (words.action, words.partitions) == ("grown", 3)
    settles_to(admin, {f"words-{suffix}": 3})


def test_a_larger_topic_is_never_shrunk_but_reported(
    kafka_bootstrap: str, suffix: str, admin: KafkaAdminClient
) -> None:
    admin.create_topics([NewTopic(f"lines-{suffix}", 7, 1)])
    settles_to(admin, {f"lines-{suffix}": 7})
    report = reconcile_topics(two_stage(kafka_bootstrap, suffix))
    settles_to(admin, {f"lines-{suffix}": 7})
    assert not report.ready
    condition = report.condition()
    assert (condition["status"], condition["reason"]) == ("False", PARTITION_MISMATCH)
    assert condition["message"] == (
        f"input topic 'lines-{suffix}' has 7 partitions, 4 declared; a topic is never shrunk"
    )
    settles_to(admin, {f"words-{suffix}": 3, f"counts-{suffix}": 3})  # the others were still reconciled


def test_a_larger_sink_or_undeclared_topic_is_fine(
    kafka_bootstrap: str, suffix: str, admin: KafkaAdminClient
) -> None:
    admin.create_topics([NewTopic(f"counts-{suffix}", 9, 1), NewTopic(f"lines-{suffix}", 9, 1)])
    settles_to(admin, {f"counts-{suffix}": 9, f"lines-{suffix}": 9})
    report = reconcile_topics(two_stage(kafka_bootstrap, suffix, lines=None))
    assert report.ready, report.message
    settles_to(admin, {f"counts-{suffix}": 9, f"lines-{suffix}": 9, f"words-{suffix}": 3})


def test_a_topic_the_broker_refuses_to_create_is_reported_missing(
    kafka_bootstrap: str, suffix: str, admin: KafkaAdminClient
) -> None:
    # One broker cannot hold three replicas: the broker refuses, and says why.
    report = reconcile_topics(two_stage(kafka_bootstrap, suffix), replication_factor=3)
    condition = report.condition()
    assert (condition["status"], condition["reason"]) == ("False", TOPIC_MISSING)
    assert condition["message"].startswith(f"input topic 'lines-{suffix}' does not exist: ")
    assert f"output topic 'words-{suffix}' does not exist" in condition["message"]
    assert "replication factor" in condition["message"].lower()
    assert partitions(admin, f"lines-{suffix}")[f"lines-{suffix}"] is None


def test_an_unreachable_broker_is_tried_a_bounded_number_of_times_and_stops_the_pass(
    suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What bounds an outage's cost is asserted here, not a wall-clock figure (that is
    ``./dev bench topics_outage``): every attempt's client has the configured timeouts, and the
    retry stops after ``ATTEMPTS`` (a failed client is dropped, so each attempt makes one)."""
    clients: list[dict[str, object]] = []

    class RecordingAdminClient(KafkaAdminClient):
        def __init__(self, **configs: object) -> None:
            clients.append(configs)
            super().__init__(**configs)

    monkeypatch.setattr("orchestrator.reconciler.topics.KafkaAdminClient", RecordingAdminClient)
    address = f"127.0.0.1:{free_port()}"
    report = reconcile_topics(two_stage(address, suffix))
    assert len(clients) == ATTEMPTS
    for configs in clients:
        assert configs["request_timeout_ms"] == REQUEST_TIMEOUT_MS
        assert configs["bootstrap_timeout_ms"] == BOOTSTRAP_TIMEOUT_MS
    assert ATTEMPTS * (BOOTSTRAP_TIMEOUT_MS + REQUEST_TIMEOUT_MS) <= 15_000, "an outage could hold a pass"
    assert report.broker_unavailable
    assert not report.ready
    condition = report.condition()
    assert (condition["status"], condition["reason"]) == ("False", BROKER_UNAVAILABLE)
    assert condition["message"].startswith(f"Kafka at {address} is not reachable")
    with pytest.raises(RetryableError, match="not reachable"):
        report.raise_when_unreachable()


# The update phase: pure, no broker.

SPEC = two_stage("b:9092", "s")


def _report(reason: str | None, message: str = "") -> TopicsReport:
    want = TopicWant("b:9092", "words-s", 3, EXACT, "output topic")
    return TopicsReport(
        (TopicResult(want, None if reason else 3, "failed" if reason else "ok", reason, message),)
    )


def test_missing_topics_keep_a_fresh_deployment_pending_with_the_reason() -> None:
    missing = _report(TOPIC_MISSING, "output topic 'words-s' does not exist")
    status = derive_status(SPEC, "rev-1", Observed(), Outcome(topics=missing), None)
    assert status["state"] == PENDING
    ready, topics = status["conditions"]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", TOPIC_MISSING)
    assert ready["message"] == "output topic 'words-s' does not exist"
    assert (topics["type"], topics["status"], topics["reason"]) == ("TopicsReady", "False", TOPIC_MISSING)


def test_a_running_deployment_with_a_mis_sized_topic_is_degraded_not_ready() -> None:
    pods = [PodState(f"p{i}", f"u{i}", "e", f"p{i}", "Running", True) for i in range(3)]
    observed = Observed(pods=pods)
    previous = {"currentRevision": "rev-1"}
    fine = derive_status(SPEC, "rev-1", observed, Outcome(topics=_report(None)), previous)
    assert fine["state"] == READY
    assert [c["type"] for c in fine["conditions"]] == ["Ready", "TopicsReady"]
    bad = _report(PARTITION_MISMATCH, "input topic 'lines-s' has 7 partitions, 4 declared")
    status = derive_status(SPEC, "rev-1", observed, Outcome(topics=bad), previous)
    assert (status["state"], status["conditions"][0]["reason"]) == (DEGRADED, PARTITION_MISMATCH)


def test_a_broker_outage_is_degraded_with_broker_unavailable() -> None:
    down = _report(BROKER_UNAVAILABLE, "Kafka at b:9092 is not reachable: timeout")
    outcome = Outcome(error="Kafka at b:9092 is not reachable: timeout", topics=down)
    status = derive_status(SPEC, "rev-1", Observed(), outcome, None)
    assert status["state"] == DEGRADED
    assert [(c["type"], c["reason"]) for c in status["conditions"]] == [
        ("Ready", BROKER_UNAVAILABLE),
        ("TopicsReady", BROKER_UNAVAILABLE),
    ]
