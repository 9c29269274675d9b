"""The topics page (issue 18 item 3) in the real Chromium against the real server and broker:
each topic with its partitions, end offsets, committed offsets and lag, updating live; a missing
topic named; the record peek and its tail for editors (never markup, bounded), none for viewers;
an unreachable broker shown as a message, never a 500; records/s on the editor's edges, whose
topic names link to the peek."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.structs import OffsetAndMetadata
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, screenshot, shown_after_publishing, without_broker
from tests.browser.payloads import payload
from tests.kafka_topics import settles_to


@pytest.fixture
def broker(kafka_bootstrap: str) -> Iterator[tuple[KafkaAdminClient, KafkaProducer, list[str]]]:
    """The real broker's admin client and a producer; the topics listed in the third item are
    deleted afterwards."""
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    created: list[str] = []
    yield admin, producer, created
    producer.close()
    if created:
        admin.delete_topics(created)
    admin.close()


def with_topics(example, broker, name: str) -> dict[str, str]:
    """The example as ``name`` with its lines and words topics on the real broker (counts stays
    missing: the case that fooled the new user); returns the topic names by role."""
    admin, _, created = broker

    def own_topics(manifest: dict) -> None:
        # Topics of this test alone: the run's example topics (``lines-<run>``) are created by
        # every other test that reconciles an example, before or after this one.
        for entity in manifest["spec"]["statefulEntities"]:
            entity["inputTopic"] += f"-{name}"
            entity["outputTopic"] += f"-{name}"

    spec = example(name, own_topics)["spec"]["statefulEntities"]
    topics = {
        "lines": spec[0]["inputTopic"],
        "words": spec[0]["outputTopic"],
        "counts": spec[1]["outputTopic"],
    }
    admin.create_topics([NewTopic(topics["lines"], 6, 1), NewTopic(topics["words"], 6, 1)])
    created += [topics["lines"], topics["words"]]
    settles_to(admin, {topics["lines"]: 6, topics["words"]: 6})
    return topics


def send(producer: KafkaProducer, topic: str, partition: int, values: list[bytes], key: bytes = b"k") -> None:
    for value in values:
        producer.send(topic, key=key, value=value, partition=partition)
    producer.flush()


def partition_cell(page: Page, topic: str, partition: int, column: str):
    return page.locator(
        f'tr.partition[data-topic="{topic}"][data-partition="{partition}"] [data-col="{column}"]'
    )


def test_a_viewer_sees_each_topics_offsets_and_lag_update_live_and_a_missing_topic_named(
    login, example, broker, server: Server, kafka_bootstrap: str
) -> None:
    name = "topics-live"
    topics = with_topics(example, broker, name)
    _, producer, _ = broker
    send(producer, topics["lines"], 1, [b"a", b"b", b"c", b"d", b"e"])
    group = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=f"invoker.{name}.splitter")
    group.commit({TopicPartition(topics["lines"], 1): OffsetAndMetadata(2, "", -1)})  # as a pod commits
    group.close()

    page = login("viewer")
    response = page.goto(f"{server.url}/deployments/{name}/topics/")
    assert response is not None
    assert response.status == 200
    lines = page.locator(f'tr.topic[data-topic="{topics["lines"]}"]')
    expect(lines.locator('[data-col="partitions"]')).to_have_text("6 / 6")
    expect(partition_cell(page, topics["lines"], 1, "end")).to_have_text("5")
    expect(partition_cell(page, topics["lines"], 1, "committed")).to_have_text("2")
    expect(partition_cell(page, topics["lines"], 1, "lag")).to_contain_text("3")
    expect(lines.locator('[data-col="lag"]')).to_have_text("3")
    counts = page.locator(f'tr.topic[data-topic="{topics["counts"]}"]')
    expect(counts).to_have_attribute("data-exists", "0")
    expect(counts.locator("[data-problem]")).to_have_text(f"output topic '{topics['counts']}' does not exist")
    # A changelog or dead-letter topic the pods have not needed yet is not "missing".
    not_yet = page.locator('tr.topic[data-role="dead-letter"][data-exists="0"]').first
    expect(not_yet.locator('[data-col="partitions"]')).to_have_text("none yet")
    expect(page.locator(".peek-open")).to_have_count(0)  # viewers do not peek (docs/topics.md)
    expect(page.locator("#peek")).to_have_count(0)

    send(producer, topics["lines"], 1, [b"f", b"g", b"h"])  # the page reads the broker again by itself
    expect(partition_cell(page, topics["lines"], 1, "end")).to_have_text("8", timeout=20_000)
    expect(partition_cell(page, topics["lines"], 1, "lag")).to_contain_text("6")
    expect(partition_cell(page, topics["lines"], 1, "lag").locator(".trend")).to_have_attribute(
        "data-trend", "up"
    )
    screenshot(page, "topics-page.png")

    # Opened again, the page draws the trend from its first read: the server kept the earlier reads.
    page.reload()
    root = page.locator("#topics")
    expect(root).to_have_attribute("data-reads", "1")
    trend = partition_cell(page, topics["lines"], 1, "lag").locator(".trend")
    seen = (trend.get_attribute("data-trend"), root.get_attribute("data-reads"))
    assert seen == ("up", "1"), "the first read after opening shows the lag's rise"


def test_an_editor_peeks_at_the_last_records_as_text_and_follows_new_ones(
    login, example, broker, server: Server
) -> None:
    topics = with_topics(example, broker, "topics-peek")
    _, producer, _ = broker
    send(producer, topics["words"], 3, [f"word {i}".encode() for i in range(30)])
    send(producer, topics["words"], 3, [b"<img src=x onerror=alert(1)>", b"\xff\xfe\x00"], key=b"<b>k</b>")

    page = login("editor")
    page.goto(f"{server.url}/deployments/topics-peek/topics/?peek={topics['words']}")  # a link to its records
    expect(page.locator("#peek")).to_be_visible()
    expect(page.locator("#peek-topic")).to_have_text(topics["words"])
    page.select_option("#peek-partition", "3")
    page.fill("#peek-limit", "5")
    page.click("#peek-read")
    rows = page.locator("#peek-records tr")
    expect(rows).to_have_count(5)
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("27")
    expect(rows.nth(3).locator('[data-col="value"]')).to_have_text("<img src=x onerror=alert(1)>")
    expect(rows.nth(3).locator('[data-col="key"]')).to_have_text("<b>k</b>")
    expect(page.locator("#peek-records img, #peek-records b")).to_have_count(0)  # text, never markup
    expect(rows.nth(4).locator('[data-col="value"]')).to_have_text("//4Abase64")

    page.check("#peek-follow")
    expect(page.locator("#peek-state")).to_have_attribute("data-state", "following")
    send(producer, topics["words"], 3, [b"fresh 1", b"fresh 2"])
    expect(rows).to_have_count(7, timeout=20_000)
    expect(rows.nth(6).locator('[data-col="value"]')).to_have_text("fresh 2")
    screenshot(page, "topics-peek.png")

    page.fill("#peek-limit", "500")  # out of bounds: the server's message, nothing shown changes
    page.uncheck("#peek-follow")
    page.click("#peek-read")
    expect(page.locator("#peek-error")).to_have_text("limit must be a whole number from 1 to 100, not 500")


def test_an_unreachable_broker_is_a_clear_message_never_a_500(login, example, server: Server) -> None:
    address = without_broker(example, "topics-no-broker")
    page = login("editor")
    failures: list[int] = []
    page.on("response", lambda r: failures.append(r.status) if r.status >= 500 else None)
    page.goto(f"{server.url}/deployments/topics-no-broker/topics/")
    expect(page.locator("#topics-error")).to_contain_text(f"Kafka at {address} is not reachable")
    expect(page.locator("tr.topic [data-problem]").first).to_contain_text(
        f"Kafka at {address} is not reachable"
    )
    assert failures == []


def test_the_editors_edges_show_records_per_second_and_entities_their_lag_from_the_metrics_stream(
    login, example, server: Server
) -> None:
    example("topics-rates")
    page = login("viewer")
    page.goto(f"{server.url}/deployments/topics-rates/")
    expect(page.locator("body[data-loaded]")).to_have_count(1)
    topics_link = page.locator("nav a", has_text="Topics")  # the way to the topics page
    expect(topics_link).to_have_attribute("href", "/deployments/topics-rates/topics/")
    edge = page.locator("#edges .edge")
    expect(edge).to_have_count(1)
    expect(edge.locator(".edge-rate")).to_have_count(0)  # no rate before a metrics message brings one
    message = payload("topics-rates", 1)  # splitter pods writing 245 records/s ...
    message["pods"].append(
        {"name": "totals-0", "entity": "totals", "phase": "Running", "recordsInPerSec": 12.5}
    )
    shown_after_publishing(page, message, "#edges .edge .edge-rate", "12.5 rec/s")  # ... totals reading 12.5
    # Each entity's lag badge: the message's lag of splitter's partitions (1, 11, ... 51) summed.
    expect(page.locator('.entity[data-name="splitter"] .lag-badge')).to_have_text("lag 156")
    expect(page.locator('.entity[data-name="totals"] .lag-badge')).to_have_count(0)

    # The edge's topic name links to its records: the topics page, asked to peek at that topic.
    words = page.evaluate("window.invokerEditor.spec.statefulEntities[0].outputTopic")
    link = edge.locator("a.edge-topic")
    expect(link.locator("text")).to_have_text(words)
    expect(link).to_have_attribute("href", f"/deployments/topics-rates/topics/?peek={words}")
    link.click()
    page.wait_for_url(f"**/deployments/topics-rates/topics/?peek={words}")
    expect(page.locator("#topics")).to_have_attribute("data-name", "topics-rates")
