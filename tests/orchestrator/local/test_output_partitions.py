"""A reconcile pass writes each entity's ``outputPartitions`` into its pods' ``main.json`` (the pod
contract), with the count the topics phase found on the real broker for a sink, so the io
sidecar can create a missing output topic and routes over an existing one's partitions."""

from __future__ import annotations

import json
from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic

from orchestrator import parse_deployment
from orchestrator.local import LocalBackend
from orchestrator.reconciler.convert import config_map_name
from orchestrator.reconciler.reconcile import Target, reconcile
from podcontract.files import MAIN_FILE, MainConfig
from tests.kafka_topics import settles_to
from tests.orchestrator.local.helpers import manifest


def source(bootstrap: str, suffix: str) -> dict[str, Any]:
    result = manifest(pods={"e-0": [0], "e-1": [1]}, io_address=bootstrap)
    entity = result["spec"]["statefulEntities"][0]
    entity.update(inputTopic=f"in-{suffix}", outputTopic=f"out-{suffix}", inputPartitions=2)
    return result


def written_main(backend: LocalBackend) -> MainConfig:
    config_map = backend.observe("demo").get("ConfigMap", config_map_name("demo", "e"))
    assert config_map is not None, "the reconcile wrote no ConfigMap"
    return MainConfig.parse(json.loads(config_map["data"][MAIN_FILE]))


def test_without_the_topics_phase_a_sink_gets_its_creation_count(backend: LocalBackend) -> None:
    spec = parse_deployment(source("127.0.0.1:9092", "none"))
    result = reconcile(Target(spec, "rev-1", 1, "redis://127.0.0.1:16379/6"), backend)
    assert result.error is None, result.error
    assert written_main(backend).output_partitions == 2


def test_a_sink_on_the_broker_gives_the_pods_its_real_partition_count(
    backend: LocalBackend, kafka_bootstrap: str, suffix: str, admin: KafkaAdminClient
) -> None:
    admin.create_topics([NewTopic(f"out-{suffix}", 5, 1)])
    settles_to(admin, {f"out-{suffix}": 5})
    spec = parse_deployment(source(kafka_bootstrap, suffix))
    result = reconcile(Target(spec, "rev-1", 1, "redis://127.0.0.1:16379/6", manage_topics=True), backend)
    assert result.error is None, result.error
    assert {r.want.topic: r.partitions for r in result.topics.results} == {
        f"in-{suffix}": 2,
        f"out-{suffix}": 5,
    }
    assert written_main(backend).output_partitions == 5
