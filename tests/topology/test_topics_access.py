"""The topics page's reads (invoker_web/topics.py) on the real broker: viewers read the table of
topics, offsets and lag; only editors and up peek at records (docs/topics.md); a bad peek is a
400 naming what is wrong; an unreachable broker is named, never a 500."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from django.test import Client
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from invoker_web import topics as web_topics
from jobs import topics_view
from orchestrator import load_manifest_yaml
from tests.kafka_topics import settles_to
from tests.topology.conftest import EXAMPLE_PATH
from topology_editor import services, topic_history
from topology_editor.models import Interface

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployment(kafka_bootstrap: str, admin: KafkaAdminClient, suffix: str) -> Callable[..., str]:
    """``deployment(address=None)``: the word-count example as ``tp-<suffix>`` with topics of this
    test (created on the real broker when ``address`` is the broker's)."""

    def create(address: str | None = None) -> str:
        manifest = load_manifest_yaml(EXAMPLE_PATH.read_text())
        manifest["metadata"]["name"] = name = f"tp-{suffix}"
        for entity in manifest["spec"]["statefulEntities"]:
            entity["ioAddress"] = address or kafka_bootstrap
            entity["inputTopic"] = f"{entity['inputTopic']}-{suffix}"
            entity["outputTopic"] = f"{entity['outputTopic']}-{suffix}"
        services.import_manifest(manifest, actor=None, interface=Interface.CLI)
        if address is None:
            topics = {f"lines-{suffix}": 6, f"words-{suffix}": 6}
            admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()])
            settles_to(admin, topics)
        return name

    return create


def signed_in(personas, name: str) -> Client:
    client = Client()
    client.force_login(personas[name])
    return client


def test_a_viewer_reads_each_topics_partitions_offsets_and_lag(
    deployment, personas, kafka_bootstrap: str, suffix: str
) -> None:
    name = deployment()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for i in range(4):
        producer.send(f"lines-{suffix}", f"line {i}".encode(), partition=2)
    producer.flush()
    producer.close()

    response = signed_in(personas, "viewer").get(f"/deployments/{name}/topics/data/")

    assert response.status_code == 200
    topics = {(t["entity"], t["role"]): t for t in response.json()["topics"]}
    lines = topics[("splitter", "input")]
    assert (lines["topic"], lines["partitions"], lines["declared"], lines["lag"]) == (
        f"lines-{suffix}",
        6,
        6,
        4,
    )
    assert [(p["partition"], p["end"], p["lag"]) for p in lines["rows"]][1:4] == [
        (1, 0, 0),
        (2, 4, 4),
        (3, 0, 0),
    ]
    assert lines["group"] == f"invoker.{name}.splitter"
    counts = topics[("totals", "output")]
    assert (counts["exists"], counts["problem"]) == (False, f"output topic 'counts-{suffix}' does not exist")
    page = signed_in(personas, "viewer").get(f"/deployments/{name}/topics/")
    assert page.status_code == 200
    assert b'data-can-peek="0"' in page.content


def test_editors_peek_at_records_and_viewers_may_not(deployment, personas, kafka_bootstrap, suffix) -> None:
    name = deployment()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(f"words-{suffix}", key=b"hello", value=b"1", partition=0)
    producer.flush()
    producer.close()
    url = f"/deployments/{name}/topics/peek/?topic=words-{suffix}&partition=0&limit=5"

    refused = signed_in(personas, "viewer").get(url)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "your role does not allow peeking at records (editors and operators may; docs/topics.md)"
    )
    for persona in ("editor", "operator", "owner"):
        body = signed_in(personas, persona).get(url).json()
        assert [(r["offset"], r["key"]["text"], r["value"]["text"]) for r in body["records"]] == [
            (0, "hello", "1")
        ]
    assert b'data-can-peek="1"' in signed_in(personas, "editor").get(f"/deployments/{name}/topics/").content


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("", 400, "topic '' is not one of tp-{s}'s topics"),
        ("topic=elsewhere&partition=0", 400, "topic 'elsewhere' is not one of tp-{s}'s topics"),
        ("topic=lines-{s}&partition=x", 400, "partition must be a whole number of at least 0, not 'x'"),
        ("topic=lines-{s}&partition=0&limit=500", 400, "limit must be a whole number from 1 to 100, not 500"),
        ("topic=lines-{s}&partition=6", 400, "topic 'lines-{s}' has no partition 6 (it has 6)"),
        ("topic=counts-{s}&partition=0", 404, "topic 'counts-{s}' does not exist at 127.0.0.1:9092"),
    ],
)
def test_a_bad_peek_is_refused_naming_what_is_wrong(
    deployment, personas, suffix, query, status, message
) -> None:
    name = deployment()
    response = signed_in(personas, "editor").get(f"/deployments/{name}/topics/peek/?{query.format(s=suffix)}")
    assert (response.status_code, response.json()["error"]["message"]) == (status, message.format(s=suffix))


def test_an_unknown_deployment_is_a_404(personas) -> None:
    response = signed_in(personas, "viewer").get("/deployments/no-such-thing/topics/data/")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_an_unreachable_broker_is_named_not_a_500(deployment, personas, suffix) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    name = deployment(address)
    editor = signed_in(personas, "editor")

    table = editor.get(f"/deployments/{name}/topics/data/")
    assert table.status_code == 200
    assert table.json()["brokerErrors"][address].startswith(f"Kafka at {address} is not reachable")
    peek = editor.get(f"/deployments/{name}/topics/peek/?topic=lines-{suffix}&partition=0")
    assert peek.status_code == 503
    assert peek.json()["error"]["message"].startswith(f"Kafka at {address} is not reachable")


def test_pages_open_at_once_share_one_read_of_the_broker(deployment, personas, monkeypatch) -> None:
    name = deployment()
    reads: list[str] = []
    read = topics_view.read_topics
    monkeypatch.setattr(topics_view, "read_topics", lambda spec: reads.append(spec.name) or read(spec))
    url = f"/deployments/{name}/topics/data/"
    first, second = (signed_in(personas, p).get(url).json() for p in ("viewer", "editor"))
    assert (reads, first) == ([name], second)
    monkeypatch.setattr(web_topics, "SHARED_SECONDS", 0.0)  # past the interval: read again
    signed_in(personas, "viewer").get(url)
    assert reads == [name, name]


def test_the_page_opens_with_the_lag_the_earlier_reads_saw(
    deployment, personas, kafka_bootstrap: str, suffix: str, monkeypatch
) -> None:
    """The trend of a reload or of another user's visit starts from the reads kept server-side
    (topology_editor.topic_history), not flat."""
    monkeypatch.setattr(web_topics, "SHARED_SECONDS", 0.0)  # every request reads the broker
    name = deployment()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    client = signed_in(personas, "viewer")
    url = f"/deployments/{name}/topics/data/"

    for lines in (2, 3):  # two reads, the lag growing between them
        for i in range(lines):
            producer.send(f"lines-{suffix}", f"line {i}".encode(), partition=2)
        producer.flush()
        first = client.get(url).json()
        assert "history" not in first  # only the page's opening read asks for it
        topic_history._redis().delete(f"invoker:topic-history:{name}:marker")  # past the sample interval
    producer.close()

    opened = client.get(url + "?history=1").json()

    kept = [sample["partitions"][f"lines-{suffix}/2"] for sample in opened["history"]]
    assert kept == [[2, 2], [5, 5]], "the two earlier reads: end offset and lag of partition 2"
    assert all(sample["time"] < opened["time"] for sample in opened["history"])
    assert opened["topics"][0]["rows"][2]["lag"] == 5
