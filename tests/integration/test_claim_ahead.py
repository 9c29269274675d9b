"""A gaining pod claims what a move gives it on the watch event, ahead of its loop (ownership.py),
with the fencing unchanged: only once the old owner released it, at the new epoch, and a claim
for a config that moved on before the loop ran it is given back, never over a newer owner.

Real parts throughout: the kube-apiserver's watch of the entity's ConfigMap, as its own
ServiceAccount (test_configmap_watch.py's namespace); the state sidecar on its Unix socket with
its Redis store; the broker for the producer the claim opens. The loop is not run: the test polls
the config and calls Ownership as the io sidecar's loop does, so "the loop is still busy with a
batch" is simply the time before the test polls.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from kubernetes import client

from executor.config_watcher import ConfigWatcher
from executor.configmap_watch import ConfigMapWatch
from executor.env import Tuning
from executor.io_sidecar import claim_ahead
from executor.ownership import Ownership
from executor.protocol import Client, Server
from executor.state_sidecar import StateService
from executor.state_store import Fence, StateStore, namespace
from orchestrator import move_partition
from orchestrator.reconciler.convert import ConvertContext, config_map_name, entity_access, entity_config_map
from orchestrator.spec.model import DeploymentSpec
from podcontract.volume import ConfigMapDir
from tests.integration import test_configmap_watch as cmw
from tests.polling import wait_until

ns = cmw.ns  # the real API server's namespace (test_configmap_watch.py)
GAINER, LOSER, MOVED = "splitter-1", "splitter-0", 1  # the example gives partition 1 to splitter-0
OLD = Fence(1, "token-of-splitter-0")
#: Well over a loaded machine's scheduling delays; the whole point is not to wait for the loop.
PROMPTLY = 5.0


@dataclass
class Move:
    """The example renamed for this test (its own topics, transactional ids and state keys),
    published as a reconcile would, and the gaining pod's side of it."""

    ns: cmw.Namespace
    spec: DeploymentSpec
    state_url: str
    store: StateStore
    watcher: ConfigWatcher
    own: Ownership

    def publish(self, spec: DeploymentSpec, epoch: int) -> None:
        self.ns.backend.apply(entity_config_map(spec, cmw.splitter(spec), self.context(epoch)))

    def context(self, epoch: int) -> ConvertContext:
        return ConvertContext(self.ns.name, f"r{epoch}", self.state_url, epochs={"splitter": epoch})

    def loop_takes_the_config(self, epoch: int) -> None:
        """What the io sidecar's loop does once its batch is done: poll, apply, acquire."""
        new = self.watcher.poll()
        assert new is not None, "the loop must find the new config"
        assert new.pod.epoch == epoch
        self.own.apply(new.pod, new.changed_at)
        self.own.acquire_due()

    def meta(self) -> tuple[str, str, str, str]:
        meta = self.store.meta(MOVED)
        return meta.get("owner", ""), meta.get("epoch", ""), meta.get("token", ""), meta.get("released", "")


@pytest.fixture
def move(ns, redis_url: str, kafka_bootstrap: str, admin: KafkaAdminClient, tmp_path: Path) -> Iterator[Move]:
    name = f"ahead-{uuid.uuid4().hex[:6]}"
    entities = tuple(
        replace(e, io_address=kafka_bootstrap, input_topic=f"{name}-lines", output_topic=f"{name}-words")
        for e in ns.spec.entities
    )
    spec = replace(ns.spec, name=name, entities=entities)
    admin.create_topics([NewTopic(f"{name}-lines", 6, 1), NewTopic(f"{name}-words", 6, 1)])
    state_url = redis_url
    context = ConvertContext(ns.name, "r1", state_url, epochs={"splitter": 1})
    for manifest in [
        entity_config_map(spec, cmw.splitter(spec), context),
        *entity_access(spec, cmw.splitter(spec), context),
    ]:
        ns.backend.apply(manifest)
    account = config_map_name(name, "splitter")
    watch = ConfigMapWatch(
        lambda: client.CoreV1Api(ns.client_as(account)), ns.name, account, max_backoff=0.5
    ).start()
    wait_until(lambda: watch.in_sync and watch.latest(), 20, "the watch to deliver the current ConfigMap")
    files = ConfigMapDir(tmp_path / "config")
    files.write(dict(watch.latest().data))
    watcher = ConfigWatcher(files.path, GAINER, api=watch)
    watcher.load()
    # The gaining pod's state sidecar reads the files only (its store is all it needs of them).
    server = Server(tmp_path / "state.sock", StateService(ConfigWatcher(files.path, GAINER, api=None)).handle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    main = watcher.current.main
    store = StateStore(state_url, namespace(main.deployment, "splitter", main.input_topic))
    state = Client(tmp_path / "state.sock", "state sidecar", patience=5)
    claims = Client(tmp_path / "state.sock", "state sidecar (claims)", patience=5)
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=main.group_id, enable_auto_commit=False
    )
    pool = ThreadPoolExecutor(max_workers=4)
    own = Ownership(
        main, GAINER, uuid.uuid4().hex, consumer, state, False, Tuning(), pool, claims,
        wake=watcher.changed, ahead=claim_ahead(watcher),
    )  # fmt: skip
    # The old owner holds the partition at epoch 1; the gaining pod runs epoch 1 without it.
    assert store.claim([MOVED], OLD, LOSER, force=False) == {MOVED: "ok"}
    own.apply(watcher.current.pod, None)
    try:
        yield Move(ns, spec, state_url, store, watcher, own)
    finally:
        own.release_all()
        consumer.close(autocommit=False)
        pool.shutdown()
        state.close()
        claims.close()
        server.shutdown()
        server.close()
        watch.stop(timeout=1)
        for p in range(6):
            store._redis.delete(*store.keys(p))
        store.close()
        admin.delete_topics([f"{name}-lines", f"{name}-words"])


def gains(spec: DeploymentSpec) -> DeploymentSpec:
    return move_partition(spec, "splitter", MOVED, GAINER)


def test_the_gaining_pod_claims_on_the_watch_event_once_released_while_its_loop_is_busy(move: Move) -> None:
    move.publish(gains(move.spec), 2)
    wait_until(lambda: MOVED in move.own.waiter.waiting(), PROMPTLY, "the claim ahead of the loop to wait")
    time.sleep(0.3)  # ~30 attempts, each answered "wait": nothing is taken from the old owner
    assert move.meta()[:2] == (LOSER, "1")
    assert move.store.release([MOVED], OLD) == {MOVED: "ok"}
    wait_until(lambda: move.meta()[0] == GAINER, PROMPTLY, "the claim once released, the loop still busy")
    assert move.meta()[1:] == ("2", move.own.token, "0")  # at the new epoch, with this pod's fence
    wait_until(move.own.waiter.has_results, PROMPTLY, "the producer opened after the claim")
    assert move.own.epoch == 1, "the loop has not taken the new config: the claim was made ahead of it"
    move.loop_takes_the_config(2)
    assert MOVED in move.own.active, "the loop starts what was claimed ahead, at once"
    assert move.meta()[:2] == (GAINER, "2")


def test_a_claim_ahead_is_never_made_at_an_epoch_older_than_the_stores(move: Move) -> None:
    newer = Fence(3, "token-of-a-newer-config")
    assert move.store.claim([MOVED], newer, LOSER, force=True) == {MOVED: "ok"}
    move.publish(gains(move.spec), 2)
    wait_until(lambda: move.own.waiter.has_results(), PROMPTLY, "the claim ahead to be answered")
    assert move.meta()[:3] == (LOSER, "3", newer.token)
    move.loop_takes_the_config(2)
    assert MOVED not in move.own.active
    assert move.meta()[:3] == (LOSER, "3", newer.token)


def test_a_claim_ahead_for_a_config_that_moved_on_is_given_back_and_never_over_a_newer_owner(
    move: Move,
) -> None:
    assert move.store.release([MOVED], OLD) == {MOVED: "ok"}
    move.publish(gains(move.spec), 2)
    wait_until(move.own.waiter.has_results, PROMPTLY, "the claim ahead at epoch 2")
    assert move.meta()[:2] == (GAINER, "2")
    # The move is undone before the loop ran epoch 2; the old owner takes the partition back at 3
    # (forced: the gaining pod had not released it, so the old owner waited out the grace period).
    move.publish(move.spec, 3)
    wait_until(lambda: _epoch_ahead(move) == 3, PROMPTLY, "the watch to deliver epoch 3")
    back = Fence(3, "token-of-splitter-0-again")
    assert move.store.claim([MOVED], back, LOSER, force=True) == {MOVED: "ok"}
    move.loop_takes_the_config(3)
    assert MOVED not in move.own.active
    assert MOVED not in move.own.pending
    assert move.meta() == (LOSER, "3", back.token, "0"), "the give-back at epoch 2 is fenced by epoch 3"


def test_a_claim_ahead_for_a_config_that_moved_on_is_released_for_the_next_owner(move: Move) -> None:
    assert move.store.release([MOVED], OLD) == {MOVED: "ok"}
    move.publish(gains(move.spec), 2)
    wait_until(move.own.waiter.has_results, PROMPTLY, "the claim ahead at epoch 2")
    assert move.meta()[:2] == (GAINER, "2")
    move.publish(move.spec, 3)
    wait_until(lambda: _epoch_ahead(move) == 3, PROMPTLY, "the watch to deliver epoch 3")
    move.loop_takes_the_config(3)
    assert MOVED not in move.own.active
    assert move.meta() == (GAINER, "2", move.own.token, "1"), "released: the next owner needs no grace"


def _epoch_ahead(move: Move) -> int | None:
    pod: Any = move.watcher.ahead()
    return None if pod is None else pod.epoch
