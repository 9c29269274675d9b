"""The shared word-count example, converted and run by the local runtime with the project's real
images (the executor's io sidecar, state sidecar and sample UDFs) against the real Kafka and
Redis: pods go Running, serve metrics, and count words exactly."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError

from orchestrator import load_manifest_yaml, parse_deployment
from orchestrator.local import LocalBackend
from orchestrator.reconciler.backend import PodState
from orchestrator.reconciler.convert import ConvertContext, OwnerRef, convert, root_object
from tests.executor.harness import LineProducer, Totals, make_lines
from tests.localpod import metric_sum, scrape
from tests.orchestrator.local.helpers import RuntimeProcess, wait_until

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "word-count.yaml"
PARTITIONS = 6
EXECUTOR_ENV = {"INVOKER_HANDOFF_GRACE_MS": "3000", "INVOKER_LOCAL_IMAGES": ""}


@pytest.fixture
def example(kafka_bootstrap: str) -> Iterator[dict[str, Any]]:
    """The example with a unique name and unique topics (created here, deleted afterwards)."""
    suffix = uuid.uuid4().hex[:8]
    source = load_manifest_yaml(EXAMPLE.read_text())
    source["metadata"]["name"] = f"wc-{suffix}"
    topics = {}
    for entity in source["spec"]["statefulEntities"]:
        for field in ("inputTopic", "outputTopic"):
            topics[entity[field]] = entity[field] = f"{suffix}-{entity[field]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, PARTITIONS, 1) for topic in topics.values()])
    yield source
    try:
        admin.delete_topics(list(topics.values()))
    except KafkaError:
        pass  # unique names: a leftover harms nothing
    finally:
        admin.close()


def _deploy(backend: LocalBackend, source: dict[str, Any], redis_url: str) -> str:
    spec = parse_deployment(source)
    root = backend.ensure_root(root_object(spec, source["spec"], backend.namespace))
    owner = OwnerRef(uid=root["metadata"]["uid"], name=spec.name)
    outputs = {entity.name: PARTITIONS for entity in spec.entities}
    ctx = ConvertContext(backend.namespace, "rev-1", redis_url, {}, owner, outputs)
    for manifest in convert(spec, ctx):
        backend.apply(manifest)
    return spec.name


def _ready(backend: LocalBackend, name: str) -> list[PodState] | None:
    pods = backend.observe(name).pods
    return pods if len(pods) == 4 and all(p.phase == "Running" and p.ready for p in pods) else None


def test_the_word_count_example_runs_serves_metrics_and_counts_exactly(
    example: dict[str, Any],
    kafka_bootstrap: str,
    redis_url: str,
    state_dir: Path,
    start_runtime: Callable[..., RuntimeProcess],
) -> None:
    backend = LocalBackend(state_dir)
    runtime = start_runtime(images=None, env={**EXECUTOR_ENV, "REDIS_URL": redis_url})
    name = _deploy(backend, example, redis_url)
    pods = wait_until(lambda: _ready(backend, name), 60, f"four ready pods\n{runtime.output()}")
    assert sorted(p.pod for p in pods) == ["splitter-0", "splitter-1", "splitter-2", "totals-0"]
    for pod in pods:
        port = int(pod.metrics_url.split(":")[2].split("/")[0])
        samples = wait_until(lambda port=port: _scrape(port), 30, f"metrics of {pod.pod}")
        assert metric_sum(samples, "invoker_assignment_epoch") == 1
    lines = make_lines(300, seed=4)
    producer = LineProducer(kafka_bootstrap, example["spec"]["statefulEntities"][0]["inputTopic"], PARTITIONS)
    producer.produce(lines)
    producer.stop()
    totals = Totals(kafka_bootstrap, example["spec"]["statefulEntities"][1]["outputTopic"], PARTITIONS)
    try:
        totals.wait_exact(Counter(word for line in lines for word in line.split()), 90)
    finally:
        totals.close()
    assert all(p.restarts == 0 for p in backend.observe(name).pods)


def _scrape(port: int) -> dict | None:
    try:
        samples = scrape(port)
    except OSError:
        return None
    return samples if metric_sum(samples, "invoker_assignment_epoch") else None
