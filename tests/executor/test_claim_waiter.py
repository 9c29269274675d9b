"""The claim waiter: a gaining pod claims a partition off its batch loop, the moment the previous
owner releases it, and opens its producer only then. Against the real state sidecar (its Unix
socket, its Redis store) and the real broker."""

import json
import math
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from executor.config_watcher import ConfigWatcher
from executor.env import Tuning
from executor.kafka_clients import BoundedProducer
from executor.ownership import Ownership
from executor.partition_tasks import Claimed, ClaimWaiter
from executor.protocol import Client, Server
from executor.state_sidecar import StateService
from executor.state_store import Fence, StateStore, namespace

EPOCH_A, EPOCH_B = 1, 2


@pytest.fixture
def sidecar(redis_url, kafka_bootstrap):
    """A state sidecar serving one entity's config, and the store it writes (for checks)."""
    directory = Path(tempfile.mkdtemp(prefix="inv-claim-", dir="/tmp"))
    main = {
        "deployment": f"claims-{uuid.uuid4().hex[:8]}",
        "entity": "splitter",
        "bootstrapServers": kafka_bootstrap,
        "inputTopic": "lines",
        "outputTopic": "words",
        "outputPartitions": 1,
        "stateBackend": {"kind": "redis", "url": redis_url},
    }
    (directory / "main.json").write_text(json.dumps(main))
    (directory / "pod-b.json").write_text(json.dumps({"pod": "pod-b", "partitions": [0], "epoch": EPOCH_B}))
    watcher = ConfigWatcher(directory, "pod-b", api=None)
    watcher.load()
    server = Server(directory / "state.sock", StateService(watcher).handle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = StateStore(redis_url, namespace(main["deployment"], "splitter", "lines"))
    client = Client(directory / "state.sock", "state sidecar", patience=5)
    waiter = ClaimWaiter(watcher.current.main, "pod-b", "token-b", client, wake=threading.Event())
    waiter.paths = directory, watcher  # for a test that builds the io loop's Ownership around it
    yield waiter, store
    for claimed in waiter.close():
        if isinstance(claimed.producer, BoundedProducer):
            claimed.producer.discard()
    client.close()
    server.shutdown()
    server.close()
    store._redis.delete(*store.keys(0))
    store.close()
    shutil.rmtree(directory, ignore_errors=True)


def results(waiter: ClaimWaiter, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = waiter.take()
        if found:
            return found
        time.sleep(0.01)
    pytest.fail(
        f"the waiter found nothing within {timeout:.0f}s (still waiting for {sorted(waiter.waiting())})"
    )


def test_the_waiter_claims_when_the_previous_owner_releases_and_only_then_opens_the_producer(sidecar):
    waiter, store = sidecar
    a = Fence(EPOCH_A, "token-a")
    assert store.claim([0], a, "pod-a", force=False) == {0: "ok"}
    waiter.wait_for(0, EPOCH_B, force_at=time.monotonic() + 60)
    time.sleep(0.5)  # ~50 attempts, each answered "wait": nothing is taken from the owner
    assert waiter.take() == []
    assert not waiter._wake.is_set()
    assert waiter.waiting() == {0}
    assert store.meta(0)["owner"] == "pod-a"
    assert store.release([0], a) == {0: "ok"}
    [claimed] = results(waiter)
    assert waiter._wake.is_set()  # the io loop stops waiting for records and takes it
    assert (claimed.partition, claimed.epoch, claimed.outcome) == (0, EPOCH_B, "ok")
    assert isinstance(claimed.producer, BoundedProducer)  # init_transactions ran, after the claim
    claimed.producer.discard()
    meta = store.meta(0)
    assert (meta["owner"], meta["epoch"], meta["token"], meta["released"]) == ("pod-b", "2", "token-b", "0")
    assert waiter.waiting() == frozenset()


def test_the_waiter_never_forces_a_claim_it_hands_it_back_when_the_grace_is_over(sidecar):
    waiter, store = sidecar
    assert store.claim([0], Fence(EPOCH_A, "token-a"), "pod-a", force=False) == {0: "ok"}
    waiter.wait_for(0, EPOCH_B, force_at=time.monotonic() + 0.3)
    [claimed] = results(waiter)
    assert (claimed.outcome, claimed.producer) == ("due", None)
    assert store.meta(0)["owner"] == "pod-a"  # the loop forces it, not the waiter


def test_a_waiter_at_an_older_epoch_never_takes_the_partition(sidecar):
    waiter, store = sidecar
    assert store.claim([0], Fence(EPOCH_B + 1, "token-c"), "pod-c", force=False) == {0: "ok"}
    waiter.wait_for(0, EPOCH_B, force_at=time.monotonic() + 60)
    [claimed] = results(waiter)
    assert (claimed.outcome, claimed.producer) == ("stale", None)
    meta = store.meta(0)
    assert (meta["owner"], meta["epoch"]) == ("pod-c", str(EPOCH_B + 1))


def test_a_cancelled_wait_claims_nothing_more(sidecar):
    waiter, store = sidecar
    a = Fence(EPOCH_A, "token-a")
    store.claim([0], a, "pod-a", force=False)
    waiter.wait_for(0, EPOCH_B, force_at=time.monotonic() + 60)
    time.sleep(0.1)
    waiter.cancel([0])
    time.sleep(0.05)  # an attempt in flight when cancelled ends
    waiter.take()
    store.release([0], a)
    time.sleep(0.3)
    assert waiter.take() == []
    assert store.meta(0)["owner"] == "pod-a"


def test_a_claim_that_completes_after_close_is_given_back_not_left_held(sidecar):
    """close() gives up waiting for an attempt still opening its producer; when that attempt
    finishes, the loop is gone, so the waiter releases the claim itself: the next owner must not
    wait out the grace period for a pod that stopped."""
    waiter, store = sidecar
    b = Fence(EPOCH_B, "token-b")
    assert store.claim([0], b, "pod-b", force=False) == {0: "ok"}  # what the late attempt claimed
    assert waiter.close() == []
    waiter._finish(EPOCH_B, [Claimed(0, EPOCH_B, "ok", None)])  # the attempt's end, after close
    assert waiter.take() == [], "nobody would take it"
    assert store.meta(0)["owner"] == "pod-b"
    assert store.meta(0)["released"] == "1"


def test_a_partition_handed_to_the_waiter_is_not_the_loops_to_claim_until_it_takes_the_result(
    sidecar, kafka_bootstrap
):
    """Between the waiter's claim and the loop taking it, the loop must not claim the partition a
    second time: that claim would answer "ok" to the same pod, and the waiter's result, found with
    nothing pending, would then be given back, marking released a partition this pod runs."""
    waiter, store = sidecar
    directory, watcher = waiter.paths
    assert store.claim([0], Fence(EPOCH_A, "token-a"), "pod-a", force=False) == {0: "ok"}
    state = Client(directory / "state.sock", "state sidecar", patience=5)
    claims = Client(directory / "state.sock", "state sidecar", patience=5)
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    pool = ThreadPoolExecutor(max_workers=2)
    ownership = Ownership(
        watcher.current.main, "pod-b", "token-b", consumer, state, False, Tuning(), pool, claims
    )
    try:
        ownership.apply(watcher.current.pod, None)
        ownership.acquire_due()  # the claim answers "wait": the waiter takes over
        assert ownership.waiter.waiting() == {0}
        assert ownership.pending[0].next_try == math.inf
        assert ownership.next_due() is not None  # the loop still looks for the waiter's result
    finally:
        for claimed in ownership.waiter.close():
            if isinstance(claimed.producer, BoundedProducer):
                claimed.producer.discard()
        consumer.close()
        pool.shutdown()
        state.close()
        claims.close()
