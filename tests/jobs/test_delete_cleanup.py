"""Deleting a deployment removes what its pods left outside its objects: state keys, changelog
topics, consumer groups and the local runtime's pod logs; input and output topics stay. Against
the real Redis and Kafka, with what a pod writes made by the executor's own code."""

from __future__ import annotations

import json
import time
import uuid
from fnmatch import fnmatch
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.structs import OffsetAndMetadata

from executor import changelog
from executor.config import parse_main
from executor.state_store import Fence, StateStore, namespace
from jobs.backends import get_backend
from jobs.cleanup import (
    CHANGELOG_PREFIX,
    CHANGELOG_SUFFIX,
    GROUP_PREFIX,
    STATE_KEYS,
    cleanup_deleted,
    data_targets,
    delete_kafka_data,
)
from jobs.tasks import reconcile_deployment
from orchestrator import load_manifest_yaml
from tests.browser.payloads import payload
from topology_editor import metrics_history, partition_rates, services, topic_history
from topology_editor.models import Interface

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "word-count.yaml"
pytestmark = pytest.mark.usefixtures("local_backend")


def deploy(name: str) -> dict[str, object]:
    """The example under `name`, reconciled by the local backend; returns the `totals` main.json."""
    manifest = load_manifest_yaml(EXAMPLE.read_text().replace("name: word-count-demo", f"name: {name}", 1))
    services.import_manifest(manifest, actor=None, interface=Interface.CLI)
    reconcile_deployment.apply(args=[name, "create"]).get()
    config_map = get_backend().observe(name).objects["ConfigMap"][f"{name}.totals"]
    return json.loads(config_map["data"]["main.json"])


def leave_pod_data(main_json: dict[str, object], with_state: bool) -> tuple[str, str, str]:
    """What a `totals` pod leaves: state keys, its changelog topic and its committed offsets; and
    a topic that only looks like the deployment's (its name starts the same), which must stay."""
    main = parse_main(main_json)
    if with_state:
        store = StateStore(main.state_url, namespace(main.deployment, main.entity, main.input_topic))
        store.claim([0, 1], Fence(epoch=1, token="t"), "totals-0", force=False)
        store.close()
    topic, other = changelog.topic_name(main), f"{main.deployment}.totals.output"
    admin = KafkaAdminClient(bootstrap_servers=main.bootstrap_servers)
    try:
        admin.create_topics(
            {topic: {"num_partitions": 1, "configs": changelog.TOPIC_CONFIG}, other: {"num_partitions": 1}}
        )
    finally:
        admin.close()
    commit_offset(main.bootstrap_servers, main.group_id, other)
    return topic, main.group_id, other


def commit_offset(bootstrap: str, group: str, topic: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(0, "", -1)})
    finally:
        consumer.close()


def kafka_has(bootstrap: str, topic: str, group: str) -> tuple[bool, bool]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return topic in admin.list_topics(), group in {g["group_id"] for g in admin.list_groups()}
    finally:
        admin.close()


def drop_topic(bootstrap: str, topic: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics([topic])
    finally:
        admin.close()


def state_keys(url: str, name: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return len(list(client.scan_iter(match=f"invoker:{{{name}:*")))
    finally:
        client.close()


def delete(name: str) -> None:
    services.delete_deployment(name, actor=None, interface=Interface.CLI)
    assert reconcile_deployment.apply(args=[name, "delete"]).get() == "deleted"


def test_deleting_a_deployment_removes_its_state_changelogs_groups_and_pod_logs(db, kafka_bootstrap) -> None:
    name = f"del-{uuid.uuid4().hex[:6]}"
    main = deploy(name)
    topic, group, other = leave_pod_data(main, with_state=True)
    store = get_backend().store
    logs = store.log_dir(get_backend().namespace, f"{name}.totals-0")
    logs.mkdir(parents=True)
    (logs / "io.log").write_text("a pod's log\n")
    neighbour = store.log_dir(get_backend().namespace, f"{name}x.totals-0")  # another deployment's
    neighbour.mkdir(parents=True)
    bootstrap, state_url = str(main["bootstrapServers"]), main["stateBackend"]["url"]  # type: ignore[index]
    assert state_keys(state_url, name) == 2  # the meta hashes of partitions 0 and 1
    assert kafka_has(bootstrap, topic, group) == (True, True)
    assert metrics_history.append(payload(name, 1))  # what the collector kept for the dashboard
    partition_rates.record(name, {"totals": {"0": [1.0, 10.0, 0.0]}}, now=1.0)
    row = {"partition": 0, "end": 3, "lag": 1}
    topics_read = {"deployment": name, "time": time.time(), "topics": [{"topic": "t", "rows": [row]}]}
    assert topic_history.record(topics_read)  # what the topics page's reads kept
    try:
        delete(name)

        assert metrics_history.size(name) == 0, "a name created again would show the old history"
        assert partition_rates.history(name) == []
        assert topic_history.recent(name) == []

        assert state_keys(state_url, name) == 0
        assert kafka_has(bootstrap, topic, group) == (False, False)
        assert kafka_has(bootstrap, other, group)[0], "only changelog topics go"
        assert not logs.exists()
        assert neighbour.exists()
    finally:
        drop_topic(bootstrap, other)


def test_kafka_data_of_a_same_named_deployment_elsewhere_is_kept(db, kafka_bootstrap) -> None:
    """Its pods never ran against this control plane's state store: another instance (a `./dev up`
    beside the tests) may own the offsets and changelogs under that name."""
    name = f"del-{uuid.uuid4().hex[:6]}"
    main = deploy(name)
    topic, group, other = leave_pod_data(main, with_state=False)
    bootstrap = str(main["bootstrapServers"])
    try:
        delete(name)
        assert kafka_has(bootstrap, topic, group) == (True, True)
    finally:
        delete_kafka_data(name, bootstrap)
        drop_topic(bootstrap, other)


def test_the_second_cleanup_removes_what_a_stopping_pod_wrote_late_unless_it_was_recreated(
    db, kafka_bootstrap
) -> None:
    name = f"del-{uuid.uuid4().hex[:6]}"
    main = deploy(name)
    topic, group, other = leave_pod_data(main, with_state=True)
    targets = data_targets(get_backend().observe(name))
    bootstrap = str(main["bootstrapServers"])
    try:
        delete(name)
        commit_offset(bootstrap, group, other)  # a pod that was still stopping commits once more
        assert cleanup_deleted.apply(args=[name, targets, True]).get() == "cleaned"
        assert kafka_has(bootstrap, topic, group) == (False, False)

        deploy(name)  # created again: the second cleanup of the old one must leave it alone
        commit_offset(bootstrap, group, other)
        assert cleanup_deleted.apply(args=[name, targets, True]).get() == "recreated"
        assert kafka_has(bootstrap, topic, group)[1]
        delete(name)
    finally:
        delete_kafka_data(name, bootstrap)
        drop_topic(bootstrap, other)


def test_the_control_plane_finds_the_data_where_the_executor_puts_it() -> None:
    """jobs.cleanup may not import the executor, so it repeats its naming; this keeps them one."""
    main = parse_main(
        {"deployment": "d", "entity": "e", "bootstrapServers": "b", "inputTopic": "in", "outputTopic": "out",
         "stateBackend": {"kind": "redis", "url": "redis://x"}}
    )  # fmt: skip
    keys = StateStore("redis://127.0.0.1:1/0", namespace("d", "e", "in")).keys(3)  # never connects
    assert all(fnmatch(k, STATE_KEYS.format(deployment="d")) for k in keys)
    topic = changelog.topic_name(main)
    assert topic.startswith(CHANGELOG_PREFIX.format(deployment="d"))
    assert topic.endswith(CHANGELOG_SUFFIX)
    assert main.group_id.startswith(GROUP_PREFIX.format(deployment="d"))
