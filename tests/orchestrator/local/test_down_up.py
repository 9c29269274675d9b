"""`./dev down` then `./dev up`, on servers of the test's own: the local runtime runs the shared
word-count example with the project's real images; then everything stops as `down` stops it
(the runtime with its pods, the broker, and the state Redis, which keeps nothing on disk) and
starts again as `up` starts it. The totals must continue exactly where they were, restored from
the changelog, and the pods must be Ready and counting (issue 17: this once froze the totals for
good while the deployment showed Ready).

The broker and the state Redis are private (free ports, temporary directories), so the live
instance (~/.cache/invoker/run, ports 8000, 16379, 16381, 9092) is never touched.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from orchestrator import load_manifest_yaml, parse_deployment
from orchestrator.local import LocalBackend
from orchestrator.reconciler.backend import PodState
from orchestrator.reconciler.convert import ConvertContext, OwnerRef, convert, root_object
from tests.executor.harness import LineProducer, Totals, make_lines
from tests.executor.services import PrivateKafka, PrivateRedis, running_private_kafka
from tests.localpod import metric_sum, scrape
from tests.orchestrator.local.helpers import RuntimeProcess, wait_until

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "word-count.yaml"
PARTITIONS = 6
LINES = 50_000  # before the restart, and as many after it: 100k lines in all
EXECUTOR_ENV = {"INVOKER_HANDOFF_GRACE_MS": "3000", "INVOKER_LOCAL_IMAGES": ""}


@pytest.fixture
def broker() -> Iterator[PrivateKafka]:
    with running_private_kafka() as server:
        yield server


def example_on(bootstrap: str) -> dict[str, Any]:
    """The shared example with a unique name, its topics created on `bootstrap`."""
    source = load_manifest_yaml(EXAMPLE.read_text())
    source["metadata"]["name"] = f"wc-{uuid.uuid4().hex[:8]}"
    for entity in source["spec"]["statefulEntities"]:
        entity["ioAddress"] = bootstrap
    topics = [e[f] for e in source["spec"]["statefulEntities"] for f in ("inputTopic", "outputTopic")]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, PARTITIONS, 1) for topic in dict.fromkeys(topics)])
    finally:
        admin.close()
    return source


def deploy(backend: LocalBackend, source: dict[str, Any], state_url: str) -> str:
    """What a reconcile applies: the root, then every converted manifest."""
    spec = parse_deployment(source)
    root = backend.ensure_root(root_object(spec, source["spec"], backend.namespace))
    owner = OwnerRef(uid=root["metadata"]["uid"], name=spec.name)
    outputs = {entity.name: PARTITIONS for entity in spec.entities}
    for manifest in convert(spec, ConvertContext(backend.namespace, "rev-1", state_url, {}, owner, outputs)):
        backend.apply(manifest)
    return spec.name


def ready(backend: LocalBackend, name: str) -> list[PodState] | None:
    pods = backend.observe(name).pods
    return pods if len(pods) == 4 and all(p.phase == "Running" and p.ready for p in pods) else None


def pod_samples(pod: PodState) -> dict | None:
    try:
        return scrape(int(pod.metrics_url.split(":")[2].split("/")[0]))
    except OSError:
        return None


def produce_and_wait_exact(
    source: dict[str, Any], bootstrap: str, lines: list[str], expected: Counter[str]
) -> None:
    """Adds `lines` to the input, then waits until every total equals `expected` (which includes
    them); a total above its exact count fails at once."""
    entities = source["spec"]["statefulEntities"]
    producer = LineProducer(bootstrap, entities[0]["inputTopic"], PARTITIONS)
    producer.produce(lines)
    producer.stop()
    totals = Totals(bootstrap, entities[1]["outputTopic"], PARTITIONS)
    try:
        totals.wait_exact(expected, 240)
    finally:
        totals.close()


def test_down_then_up_continues_the_sample_totals_exactly(
    broker: PrivateKafka,
    state_redis: PrivateRedis,
    state_dir: Path,
    start_runtime: Callable[..., RuntimeProcess],
) -> None:
    backend = LocalBackend(state_dir)
    source = example_on(broker.bootstrap)
    runtime = start_runtime(images=None, env=EXECUTOR_ENV)
    name = deploy(backend, source, state_redis.url)
    wait_until(lambda: ready(backend, name), 90, f"four ready pods\n{runtime.output()}")
    first = make_lines(LINES, seed=31)
    expected = Counter(word for line in first for word in line.split())
    produce_and_wait_exact(source, broker.bootstrap, first, expected)

    # ./dev down: the app (the runtime stops its pods), then every service.
    assert runtime.stop() == 0, runtime.output()
    broker.stop()
    state_redis.shutdown_nosave()  # the state Redis keeps nothing on disk: every cached total is gone

    # ./dev up: services, then the app; the deployment's objects are still in the runtime's state.
    state_redis.start()
    assert state_redis.keys() == 0
    broker.start()
    runtime = start_runtime(images=None, env=EXECUTOR_ENV)
    pods = wait_until(lambda: ready(backend, name), 120, f"four ready pods again\n{runtime.output()}")
    second = make_lines(LINES, seed=32)
    expected.update(word for line in second for word in line.split())
    produce_and_wait_exact(source, broker.bootstrap, second, expected)

    totals_pod = next(p for p in pods if p.pod == "totals-0")
    samples = wait_until(lambda: pod_samples(totals_pod), 30, "metrics of totals-0")
    assert metric_sum(samples, "invoker_state_restored_keys_total") > 0, "the totals came from the changelog"
    errors = {labels: v for (n, labels), v in samples.items() if n == "invoker_errors_total" and v}
    assert not [k for k in errors if ("kind", "state_diverged") in k or ("kind", "state_rebuilt") in k]
    assert ready(backend, name), "every pod Ready after up"
