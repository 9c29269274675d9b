"""`manage.py ensure_topics NAME` creates a deployment's topics on the real broker."""

import socket
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from kafka.admin import KafkaAdminClient, NewTopic

from orchestrator import load_manifest_yaml
from tests.polling import wait_until
from topology_editor import services
from topology_editor.models import Interface

from .conftest import EXAMPLE


def test_it_creates_missing_topics_with_their_partition_counts(
    db, kafka_bootstrap: str, redis_url: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    text = EXAMPLE.read_text().replace('"lines"', f'"lines-{suffix}"').replace('"words"', f'"words-{suffix}"')
    text = text.replace('"counts"', f'"counts-{suffix}"').replace("127.0.0.1:9092", kafka_bootstrap)
    deployment = services.import_manifest(
        load_manifest_yaml(text), actor=None, interface=Interface.CLI
    ).deployment
    out = StringIO()
    call_command("ensure_topics", deployment.name, stdout=out)
    assert out.getvalue().count("created topic") == 3
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        described = {
            t["name"]: len(t["partitions"])
            for t in admin.describe_topics([f"lines-{suffix}", f"words-{suffix}"])
        }
    finally:
        admin.close()
    assert described == {f"lines-{suffix}": 6, f"words-{suffix}": 6}
    again = StringIO()
    call_command("ensure_topics", deployment.name, stdout=again)
    assert again.getvalue().count("exists") == 3


def _imported(kafka_bootstrap: str, suffix: str, address: str | None = None, declare_words: int = 0):
    text = EXAMPLE.read_text().replace('"lines"', f'"lines-{suffix}"').replace('"words"', f'"words-{suffix}"')
    if declare_words:  # totals declares its input count; the splitter's stays inferred from its pods
        reader = f'inputTopic: "words-{suffix}"'
        text = text.replace(reader, f"{reader}\n      inputPartitions: {declare_words}")
    text = text.replace('"counts"', f'"counts-{suffix}"').replace(
        "127.0.0.1:9092", address or kafka_bootstrap
    )
    return services.import_manifest(load_manifest_yaml(text), actor=None, interface=Interface.CLI).deployment


def test_it_grows_a_smaller_topic_and_refuses_to_shrink_a_larger_one(
    db, kafka_bootstrap: str, redis_url: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(f"lines-{suffix}", 2, 1), NewTopic(f"words-{suffix}", 9, 1)])
        wait_until(lambda: _counts(admin, suffix) == {"lines": 2, "words": 9}, 10, "the topics to show")
        deployment = _imported(kafka_bootstrap, suffix, declare_words=6)
        out = StringIO()
        with pytest.raises(CommandError) as refused:
            call_command("ensure_topics", deployment.name, stdout=out)
        assert str(refused.value) == (
            f"PartitionCountMismatch: output topic 'words-{suffix}' has 9 partitions, 6 declared; "
            "a topic is never shrunk"
        )
        assert f"grew topic lines-{suffix} to 6 partitions" in out.getvalue()
        wait_until(lambda: _counts(admin, suffix) == {"lines": 6, "words": 9}, 10, "lines to grow")
    finally:
        admin.delete_topics([t for t in admin.list_topics() if t.endswith(suffix)])
        admin.close()


def test_an_unreachable_broker_fails_the_command_naming_it(db, kafka_bootstrap: str, redis_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    deployment = _imported(kafka_bootstrap, uuid.uuid4().hex[:6], address)
    with pytest.raises(CommandError, match=f"^BrokerUnavailable: Kafka at {address} is not reachable"):
        call_command("ensure_topics", deployment.name, stdout=StringIO())


def _counts(admin: KafkaAdminClient, suffix: str) -> dict[str, int | None]:
    described = admin.describe_topics([f"lines-{suffix}", f"words-{suffix}"])
    return {
        t["name"].rsplit("-", 1)[0]: len(t["partitions"]) if t["error_code"] == 0 else None for t in described
    }
