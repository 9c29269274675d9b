"""The state store's fence and two-phase commit, against the real Redis."""

import uuid

import pytest

from executor.state_store import Fence, StateDivergedError, StateStore, delete_deployment_state, namespace

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
    assert store.prepare({0: (10, {b"w": b"3", b"gone": None})}, A) == {0: "ok"}
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
    assert store.prepare({0: (5, {b"w": b"1"})}, A) == {0: "fenced"}
    assert store.finalize({0: 5}, A) == {0: "fenced"}
    assert store.release([0], A) == {0: "fenced"}


def test_a_stale_epoch_never_takes_a_partition_back(store):
    store.claim([0], B, "pod-b", force=False)
    assert store.claim([0], Fence(epoch=1, token="token-a"), "pod-a", force=True) == {0: "stale"}


def test_a_restarted_pod_reclaims_its_own_partition_at_once(store):
    store.claim([0], A, "pod-a", force=False)
    restarted = Fence(epoch=1, token="token-a2")
    assert store.claim([0], restarted, "pod-a", force=False) == {0: "ok"}
    assert store.prepare({0: (1, {})}, A) == {0: "fenced"}  # the old incarnation is fenced


def test_recovery_applies_a_staged_batch_that_kafka_committed(store):
    store.claim([0], A, "pod-a", force=False)
    store.prepare({0: (7, {b"w": b"2"})}, A)  # then the pod died before finalize
    store.claim([0], B, "pod-b", force=True)
    assert store.recover(0, committed=7, fence=B, stateful=True) == 7
    assert committed(store, 0, b"w") == [b"2"]


def test_recovery_drops_a_staged_batch_that_kafka_aborted(store):
    store.claim([0], A, "pod-a", force=False)
    store.prepare({0: (4, {b"w": b"1"})}, A)
    store.finalize({0: 4}, A)
    store.prepare({0: (9, {b"w": b"5"})}, A)  # its transaction never committed
    store.claim([0], B, "pod-b", force=True)
    assert store.recover(0, committed=4, fence=B, stateful=True) == 4
    assert committed(store, 0, b"w") == [b"1"]
    assert "pending_offset" not in store.meta(0)


def test_recovery_of_a_partition_never_committed_starts_from_the_beginning(store):
    store.claim([1], A, "pod-a", force=False)
    assert store.recover(1, committed=None, fence=A, stateful=True) is None


def test_lost_state_is_reported_not_silently_restarted(store):
    store.claim([2], A, "pod-a", force=False)
    with pytest.raises(StateDivergedError, match="committed input offset 100"):
        store.recover(2, committed=100, fence=A, stateful=True)
    assert store.recover(2, committed=100, fence=A, stateful=False) == 100  # no state, nothing lost


def test_many_partitions_share_one_round_trip(store):
    assert store.claim([0, 1, 2, 3], A, "pod-a", force=False) == dict.fromkeys(range(4), "ok")
    batches = {p: (p + 1, {b"k": str(p).encode()}) for p in range(4)}
    assert store.prepare(batches, A) == dict.fromkeys(range(4), "ok")
    assert store.finalize({p: p + 1 for p in range(4)}, A) == dict.fromkeys(range(4), "ok")
    assert store.get({p: [b"k"] for p in range(4)}) == {p: [str(p).encode()] for p in range(4)}


def test_a_deleted_deployment_leaves_no_state_behind(redis_url):
    deployment = f"gone-{uuid.uuid4().hex}"
    for entity in ("word-count", "sum"):
        store = StateStore(redis_url, namespace(deployment, entity, "lines"))
        store.claim([0, 1], A, "pod-a", force=False)
        store.prepare({0: (1, {b"k": b"v"})}, A)
        store.finalize({0: 1}, A)
        store.close()
    assert delete_deployment_state(redis_url, deployment) == 2 * 3  # meta x2 + state, per entity
    assert delete_deployment_state(redis_url, deployment) == 0
