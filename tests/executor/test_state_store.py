"""The state store's fence and two-phase commit, against the real Redis."""

import uuid

import pytest

from executor.state_store import Fence, Recovered, StateStore, delete_deployment_state, namespace

A, B = Fence(epoch=1, token="token-a"), Fence(epoch=2, token="token-b")


@pytest.fixture
def store(redis_url):
    store = StateStore(redis_url, f"test:{uuid.uuid4().hex}")
    yield store
    for p in range(4):
        store._redis.delete(*store.keys(p))
    store.close()


def committed(store, partition, *keys):
    return store.get({partition: list(keys)})[partition]


def test_a_batch_becomes_visible_only_when_finalized(store):
    assert store.claim([0], A, "pod-a", force=False) == {0: "ok"}
    assert store.prepare({0: (None, 10, {b"w": b"3", b"gone": None})}, A) == {0: "ok"}
    assert committed(store, 0, b"w") == [None]
    assert store.finalize({0: 10}, A) == {0: "ok"}
    assert committed(store, 0, b"w", b"gone") == [b"3", None]
    assert store.meta(0)["offset"] == "10"
    assert store.finalize({0: 10}, A) == {0: "ok"}  # a retried finalize is harmless


def test_a_new_owner_waits_for_the_release_unless_it_forces(store):
    store.claim([0], A, "pod-a", force=False)
    assert store.claim([0], B, "pod-b", force=False) == {0: "wait"}
    assert store.release([0], A) == {0: "ok"}
    assert store.claim([0], B, "pod-b", force=False) == {0: "ok"}


def test_a_forced_claim_fences_the_previous_owner(store):
    store.claim([0], A, "pod-a", force=False)
    assert store.claim([0], B, "pod-b", force=True) == {0: "ok"}
    assert store.prepare({0: (None, 5, {b"w": b"1"})}, A) == {0: "fenced"}
    assert store.finalize({0: 5}, A) == {0: "fenced"}
    assert store.release([0], A) == {0: "fenced"}


def test_a_stale_epoch_never_takes_a_partition_back(store):
    store.claim([0], B, "pod-b", force=False)
    assert store.claim([0], Fence(epoch=1, token="token-a"), "pod-a", force=True) == {0: "stale"}


def test_a_restarted_pod_reclaims_its_own_partition_at_once(store):
    store.claim([0], A, "pod-a", force=False)
    restarted = Fence(epoch=1, token="token-a2")
    assert store.claim([0], restarted, "pod-a", force=False) == {0: "ok"}
    assert store.prepare({0: (None, 1, {})}, A) == {0: "fenced"}  # the old incarnation is fenced


def test_recovery_applies_a_staged_batch_that_kafka_committed(store):
    store.claim([0], A, "pod-a", force=False)
    store.prepare({0: (None, 7, {b"w": b"2"})}, A)  # then the pod died before finalize
    store.claim([0], B, "pod-b", force=True)
    assert store.recover(0, committed=7, fence=B, stateful=True) == Recovered(7, behind=False)
    assert committed(store, 0, b"w") == [b"2"]


def test_recovery_drops_a_staged_batch_that_kafka_aborted(store):
    store.claim([0], A, "pod-a", force=False)
    store.prepare({0: (None, 4, {b"w": b"1"})}, A)
    store.finalize({0: 4}, A)
    store.prepare({0: (4, 9, {b"w": b"5"})}, A)  # its transaction never committed
    store.claim([0], B, "pod-b", force=True)
    assert store.recover(0, committed=4, fence=B, stateful=True) == Recovered(4, behind=False)
    assert committed(store, 0, b"w") == [b"1"]
    assert "pending_offset" not in store.meta(0)


def test_recovery_of_a_partition_never_committed_starts_from_the_beginning(store):
    store.claim([1], A, "pod-a", force=False)
    assert store.recover(1, committed=None, fence=A, stateful=True) == Recovered(None, behind=False)


def test_a_cache_that_lost_its_state_is_behind_kafka(store):
    store.claim([2], A, "pod-a", force=False)
    assert store.recover(2, committed=100, fence=A, stateful=True) == Recovered(None, behind=True)
    assert store.recover(2, committed=100, fence=A, stateful=False) == Recovered(100, behind=False)


def test_a_batch_is_not_staged_on_a_cache_that_does_not_reflect_its_start(store):
    store.claim([0], A, "pod-a", force=False)
    store.prepare({0: (None, 4, {b"w": b"1"})}, A)
    store.finalize({0: 4}, A)
    assert store.prepare({0: (None, 9, {b"w": b"5"})}, A) == {0: "behind"}  # the cache moved on
    store._redis.delete(*store.keys(0)[1:])
    store._redis.hdel(store.keys(0)[0], "offset")  # as after a restart of an empty Redis
    assert store.prepare({0: (4, 9, {b"w": b"5"})}, A) == {0: "behind"}
    assert "pending_offset" not in store.meta(0)


def test_a_restore_replaces_the_cache_chunk_by_chunk(store):
    store.claim([0], A, "pod-a", force=False)
    store.prepare({0: (None, 3, {b"stale": b"1", b"w": b"1"})}, A)
    store.finalize({0: 3}, A)
    assert store.restore(0, A, {b"w": b"7", b"x": b"2"}, first=True, done=False) == "ok"
    assert store.meta(0).get("offset") is None  # cut short here, it is seen as behind and redone
    assert store.restore(0, A, {b"x": None, b"y": b"5"}, first=False, done=False) == "ok"
    assert store.restore(0, A, {}, first=False, done=True, offset=40) == "ok"
    assert committed(store, 0, b"stale", b"w", b"x", b"y") == [None, b"7", None, b"5"]
    assert store.recover(0, committed=40, fence=A, stateful=True) == Recovered(40, behind=False)
    assert store.restore(0, B, {b"w": b"9"}, first=True, done=True, offset=50) == "fenced"
    assert committed(store, 0, b"w") == [b"7"]


def test_a_scan_pages_through_a_partition(store):
    store.claim([1], A, "pod-a", force=False)
    writes = {f"k{i}".encode(): str(i).encode() for i in range(2500)}
    store.prepare({1: (None, 1, writes)}, A)
    store.finalize({1: 1}, A)
    seen, cursor = {}, 0
    while True:
        cursor, items = store.scan(1, cursor, count=1000)
        seen.update(items)
        if cursor == 0:
            break
    assert seen == writes


def test_many_partitions_share_one_round_trip(store):
    assert store.claim([0, 1, 2, 3], A, "pod-a", force=False) == dict.fromkeys(range(4), "ok")
    batches = {p: (None, p + 1, {b"k": str(p).encode()}) for p in range(4)}
    assert store.prepare(batches, A) == dict.fromkeys(range(4), "ok")
    assert store.finalize({p: p + 1 for p in range(4)}, A) == dict.fromkeys(range(4), "ok")
    assert store.get({p: [b"k"] for p in range(4)}) == {p: [str(p).encode()] for p in range(4)}


def test_a_deleted_deployment_leaves_no_state_behind(redis_url):
    deployment = f"gone-{uuid.uuid4().hex}"
    for entity in ("word-count", "sum"):
        store = StateStore(redis_url, namespace(deployment, entity, "lines"))
        store.claim([0, 1], A, "pod-a", force=False)
        store.prepare({0: (None, 1, {b"k": b"v"})}, A)
        store.finalize({0: 1}, A)
        store.close()
    assert delete_deployment_state(redis_url, deployment) == 2 * 3  # meta x2 + state, per entity
    assert delete_deployment_state(redis_url, deployment) == 0
