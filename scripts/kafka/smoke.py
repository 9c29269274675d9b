"""End-to-end proof that the dev Kafka broker does what Invoker needs.

Usage: python scripts/kafka/smoke.py [127.0.0.1:9092]     (exit 0 = all good)

Checks, with kafka-python 3.x (+ crc32c), on throwaway topics deleted afterwards:
  1. admin client creates a 6-partition topic;
  2. 10,000 records produced (record i to partition i % 6), all acknowledged;
  3. a group-less consumer with manual assign() of partitions 0-2 reads back exactly
     the records sent there, in order;
  4. a transactional producer commits, aborts, commits; a read_committed consumer sees
     only the committed records, a read_uncommitted one sees the aborted ones too
     (so the abort really wrote data and the filter is doing the work).
"""

import sys
import time
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError

N = 10_000
PARTITIONS = 6


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def drain(consumer, partitions, want, timeout=30.0):
    """Poll assigned partitions from the beginning until `want` records arrived and the
    positions reached the end offsets (which already respect the isolation level)."""
    consumer.seek_to_beginning(*partitions)
    end = consumer.end_offsets(partitions)
    got, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        for recs in consumer.poll(timeout_ms=500, max_records=5000).values():
            got.extend(recs)
        if len(got) >= want and all(consumer.position(tp) >= end[tp] for tp in partitions):
            break
    return got


def main(bootstrap):
    run = uuid.uuid4().hex[:8]
    topic, txn_topic = f"invoker-smoke-{run}", f"invoker-smoke-txn-{run}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        # 1. topics (kafka-python 3.x: describe_topics partitions carry "partition_index")
        admin.create_topics([NewTopic(topic, PARTITIONS, 1), NewTopic(txn_topic, 3, 1)])
        admin.wait_for_topics([topic, txn_topic])
        parts = {p["partition_index"] for t in admin.describe_topics([topic]) for p in t["partitions"]}
        check(parts == set(range(PARTITIONS)), f"expected {PARTITIONS} partitions, got {sorted(parts)}")
        print(f"ok   created {topic} with {PARTITIONS} partitions")

        # 2. produce
        t0 = time.monotonic()
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        futures = [producer.send(topic, value=str(i).encode(), partition=i % PARTITIONS) for i in range(N)]
        producer.flush(timeout=60)
        failed = [f for f in futures if not f.succeeded()]
        producer.close()
        check(not failed, f"{len(failed)} of {N} sends failed: {failed[0].exception if failed else ''}")
        print(f"ok   produced {N} records in {time.monotonic() - t0:.2f}s")

        # 3. manual assign() of partitions 0-2, no consumer group
        t0 = time.monotonic()
        mine = [TopicPartition(topic, p) for p in range(3)]
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        consumer.assign(mine)
        want = {p: [str(i) for i in range(N) if i % PARTITIONS == p] for p in range(3)}
        recs = drain(consumer, mine, sum(map(len, want.values())))
        consumer.close()
        got = {p: [r.value.decode() for r in recs if r.partition == p] for p in range(3)}
        check(
            got == want,
            "partitions 0-2 did not read back exactly what was produced: "
            + ", ".join(f"p{p}: {len(got[p])}/{len(want[p])}" for p in range(3)),
        )
        print(
            f"ok   consumed {len(recs)} records from partitions 0-2 via assign() in {time.monotonic() - t0:.2f}s"
        )

        # 4. transactions: commit 100, abort 50, commit 10
        t0 = time.monotonic()
        tx = KafkaProducer(
            bootstrap_servers=bootstrap, transactional_id=f"invoker-smoke-{run}", max_block_ms=30000
        )
        tx.init_transactions()
        for label, n, commit in (("c1", 100, True), ("ab", 50, False), ("c2", 10, True)):
            tx.begin_transaction()
            for i in range(n):
                tx.send(txn_topic, key=str(i).encode(), value=f"{label}-{i}".encode())
            # Flush first: abort_transaction() drops batches still in the accumulator (as the
            # Java client does), and the point is to prove aborted data in the log is hidden.
            tx.flush()
            tx.commit_transaction() if commit else tx.abort_transaction()
        tx.close()
        tps = [TopicPartition(txn_topic, p) for p in range(3)]
        seen = {}
        for level, want_n in (("read_committed", 110), ("read_uncommitted", 160)):
            c = KafkaConsumer(
                bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, isolation_level=level
            )
            c.assign(tps)
            seen[level] = sorted(r.value.decode() for r in drain(c, tps, want_n))
            c.close()
        committed = sorted([f"c1-{i}" for i in range(100)] + [f"c2-{i}" for i in range(10)])
        check(
            seen["read_committed"] == committed,
            f"read_committed saw {len(seen['read_committed'])} records, "
            f"{sum(v.startswith('ab') for v in seen['read_committed'])} of them aborted; want 110 committed",
        )
        check(
            len(seen["read_uncommitted"]) == 160,
            f"read_uncommitted saw {len(seen['read_uncommitted'])} records, want 160",
        )
        print(
            f"ok   transactions: read_committed sees 110 committed, read_uncommitted 160 "
            f"(incl. 50 aborted) in {time.monotonic() - t0:.2f}s"
        )
    finally:
        try:
            admin.delete_topics([topic, txn_topic])
        except KafkaError:
            pass
        admin.close()


if __name__ == "__main__":
    bootstrap = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"
    t = time.monotonic()
    try:
        main(bootstrap)
    except (KafkaError, AssertionError) as e:
        print(f"FAIL {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"PASS kafka smoke against {bootstrap} in {time.monotonic() - t:.2f}s")
