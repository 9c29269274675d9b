"""How long a partition's state takes to come back from its changelog, beside a baseline.

    python benchmarks/state_restore.py [--keys N]       (or: ./dev bench state_restore)

One changelog partition is filled with N keys (default 1,000,000, 16-byte keys, 8-byte values)
the way pods write it: in transactions, each batch ending with its offset marker. Then:

1. restore: a real state sidecar process (its socket, its Redis) gets the partition claimed and
   the io sidecar's own recovery code (`StateRecovery.resume`) finds the cache empty behind the
   committed offset and restores it: the changelog read `read_committed`, chunk by chunk over
   the socket, into Redis by the Lua `restore` step. Checked: every key is in Redis afterwards.
2. baseline, in the same run on the same data: the two halves without the engine, back to back:
   a bare kafka-python consumer reading the partition, and redis-py pipelines of HSET of all keys.

Prints seconds and keys/s for both and the ratio restore / baseline time. Env:
KAFKA_BOOTSTRAP_SERVERS, INVOKER_STATE_REDIS_URL (else REDIS_URL).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient  # noqa: E402

from executor import changelog  # noqa: E402
from executor.config import parse_main  # noqa: E402
from executor.protocol import Client  # noqa: E402
from executor.recovery import StateRecovery  # noqa: E402
from executor.state_store import StateStore, delete_deployment_state, namespace  # noqa: E402
from podcontract.volume import ConfigMapDir  # noqa: E402
from tests.localpod import PodProcesses, free_port  # noqa: E402
from tests.polling import wait_until  # noqa: E402

BATCH = 20_000  # keys per transaction while filling, like a pod's batch


def fill(main_json: dict[str, object], keys: int) -> int:
    """Writes `keys` keys into changelog partition 0 in transactions; returns the input offset marked."""
    main = parse_main(main_json)
    producer = KafkaProducer(
        bootstrap_servers=main.bootstrap_servers,
        transactional_id=f"bench-fill-{uuid.uuid4().hex[:8]}",
        linger_ms=20,
        batch_size=1024 * 1024,
    )
    producer.init_transactions()
    topic, offset = changelog.topic_name(main), 0
    for start in range(0, keys, BATCH):
        producer.begin_transaction()
        writes = {
            f"key-{i:012d}".encode(): i.to_bytes(8, "big") for i in range(start, min(keys, start + BATCH))
        }
        offset += len(writes)
        changelog.send(producer, topic, 0, writes, offset)
        producer.commit_transaction()
    producer.close()
    return offset


def baseline(main_json: dict[str, object], state_url: str) -> tuple[float, int]:
    """A bare consumer reading the partition, then bare pipelined HSETs of what it read."""
    main = parse_main(main_json)
    started = time.monotonic()
    consumer = KafkaConsumer(
        bootstrap_servers=main.bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    tp = TopicPartition(changelog.topic_name(main), 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    end = consumer.end_offsets([tp])[tp]
    state: dict[bytes, bytes] = {}
    while consumer.position(tp) < end:
        for record in consumer.poll(timeout_ms=500, max_records=changelog.CHUNK).get(tp, []):
            if record.key[:1] == changelog.KEY:
                state[record.key[1:]] = record.value
    consumer.close()
    client = redis.Redis.from_url(state_url)
    items = list(state.items())
    key = f"invoker:{{bench-baseline-{uuid.uuid4().hex[:8]}}}:state"
    for start in range(0, len(items), changelog.CHUNK):
        client.hset(key, mapping=dict(items[start : start + changelog.CHUNK]))
    seconds = time.monotonic() - started
    client.delete(key)
    client.close()
    return seconds, len(items)


def restore(main_json: dict[str, object], work: Path, committed: int) -> float:
    """The engine's restore, through a real state sidecar; returns its seconds."""
    main = parse_main(main_json)
    config = ConfigMapDir(work / "config")
    config.write({"main.json": main_json, "bench-0.json": {"pod": "bench-0", "partitions": [0], "epoch": 1}})
    pod = PodProcesses("bench-0", "executor.samples.sum:udf", config.path, work, free_port())
    pod.start_container("state")
    state = Client(pod.socket_dir / "state.sock", "state sidecar")
    try:
        wait_until(lambda: (pod.socket_dir / "state.sock").exists(), 60, "the state sidecar")
        fence = {"epoch": 1, "token": uuid.uuid4().hex}
        assert state.call("claim", partitions=[0], owner="bench-0", force=True, **fence)["results"] == {
            0: "ok"
        }
        consumer = KafkaConsumer(bootstrap_servers=main.bootstrap_servers, enable_auto_commit=False)
        recovery = StateRecovery(main, "bench-0", consumer, state, stateful=True)
        recovery.prepare_topic()
        started = time.monotonic()
        resumed = recovery.resume(0, None, committed, fence, empty=False)  # type: ignore[arg-type]
        seconds = time.monotonic() - started
        consumer.close()
        assert resumed == committed, (resumed, committed)
        return seconds
    finally:
        state.close()
        pod.stop()


def check(main_json: dict[str, object], keys: int, committed: int) -> None:
    main = parse_main(main_json)
    store = StateStore(main.state_url, namespace(main.deployment, main.entity, main.input_topic))
    try:
        assert store.meta(0).get("offset") == str(committed), store.meta(0)
        sample = [f"key-{i:012d}".encode() for i in (0, keys // 2, keys - 1)]
        assert store.get({0: sample})[0] == [i.to_bytes(8, "big") for i in (0, keys // 2, keys - 1)]
        assert store._redis.hlen(store.keys(0)[1]) == keys
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    state_url = os.environ.get("INVOKER_STATE_REDIS_URL") or os.environ.get(
        "REDIS_URL", "redis://127.0.0.1:16379/0"
    )
    name = f"bench-restore-{uuid.uuid4().hex[:8]}"
    input_topic = f"{name}-in"
    main_json = {
        "deployment": name, "entity": "sum", "bootstrapServers": bootstrap, "inputTopic": input_topic,
        "outputTopic": f"{name}-out", "outputPartitions": 1,
        "stateBackend": {"kind": "redis", "url": state_url},
    }  # fmt: skip
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics({input_topic: {"num_partitions": 1}})
    try:
        changelog.ensure_topic(parse_main(main_json), {})
        print(f"filling one changelog partition with {args.keys:,} keys ...", flush=True)
        started = time.monotonic()
        committed = fill(main_json, args.keys)
        print(f"  written in {time.monotonic() - started:.1f}s")
        with tempfile.TemporaryDirectory(prefix="inv-bench-") as work:
            seconds = restore(main_json, Path(work), committed)
        check(main_json, args.keys, committed)
        base_seconds, base_keys = baseline(main_json, state_url)
        assert base_keys == args.keys
        print(f"restore  (engine):   {seconds:6.2f} s  {args.keys / seconds:>10,.0f} keys/s")
        print(f"baseline (bare):     {base_seconds:6.2f} s  {args.keys / base_seconds:>10,.0f} keys/s")
        print(f"ratio restore / baseline time: {seconds / base_seconds:.2f}")
    finally:
        topics = [input_topic, changelog.topic_name(parse_main(main_json))]
        admin.delete_topics([t for t in topics if t in admin.list_topics()])
        admin.close()
        delete_deployment_state(state_url, name)


if __name__ == "__main__":
    main()
