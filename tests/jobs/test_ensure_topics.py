"""`manage.py ensure_topics NAME` creates a deployment's topics on the real broker."""

import uuid
from io import StringIO

from django.core.management import call_command
from kafka.admin import KafkaAdminClient

from orchestrator import load_manifest_yaml
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
