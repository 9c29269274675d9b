"""Keyed state in Redis, with the input offset it reflects and the fence of the partition's owner.

Per (deployment, entity, input topic, partition) three keys share one hash tag, so a Redis
Cluster keeps them on one shard and a Lua script can change them together:

    meta     hash: epoch, owner, token, released, offset, pending_offset
    state    hash: record key -> committed value
    pending  hash: record key -> b"s"+value | b"d"   (writes of the batch being committed)

A batch is committed in two phases around the Kafka transaction that carries its outputs, its
input offsets and its changelog records (executor/changelog.py): `prepare` stages its writes in
`pending`, the transaction commits, `finalize` moves `pending` into `state` and sets `offset`.
Kafka's committed offset is the decision: on recovery `pending` is applied if and only if its
offset is the one Kafka committed. Redis is a cache of the changelog: `offset` is the input
offset it reflects, and one that does not reflect the committed offset (lost, emptied, reverted)
is `behind` and gets restored from the changelog (`restore`). Every write checks `token` (one
per io-sidecar process) and `epoch`, so a fenced owner cannot touch a partition that has moved
on. The atomic steps are one Lua script, executor/state.lua.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis

SET, DELETE = b"s", b"d"  # how a write is staged: b"s" + value, or b"d" for a deletion


def _staged(value: bytes | None) -> bytes:
    return DELETE if value is None else SET + value


@dataclass(frozen=True)
class Recovered:
    """What `recover` found: the input offset the cache reflects, and whether that is behind Kafka."""

    offset: int | None
    behind: bool


@dataclass(frozen=True)
class Fence:
    """Who may write a partition: the owner's epoch and the token of its io sidecar process."""

    epoch: int
    token: str


class StateStore:
    """The Redis side of one entity's state; every method takes many partitions per round trip."""

    def __init__(self, url: str, namespace: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=10, health_check_interval=30)
        self._namespace = namespace
        self._script = self._redis.register_script((resources.files("executor") / "state.lua").read_text())

    def close(self) -> None:
        self._redis.close()

    def keys(self, partition: int) -> list[str]:
        tag = f"{{{self._namespace}:{partition}}}"
        return [f"invoker:{tag}:meta", f"invoker:{tag}:state", f"invoker:{tag}:pending"]

    def claim(self, partitions: Iterable[int], fence: Fence, owner: str, force: bool) -> dict[int, str]:
        """Takes ownership at `fence.epoch`: "ok", "wait" (previous owner not released) or "stale"."""
        args = [fence.epoch, owner, fence.token, int(force)]
        return self._each("claim", {p: args for p in partitions})

    def prepare(
        self, batches: Mapping[int, tuple[int | None, int, Mapping[bytes, bytes | None]]], fence: Fence
    ) -> dict[int, str]:
        """Stages each partition's writes with the offsets before and after its batch.

        "ok", "fenced", or "behind" when the cache does not reflect the offset the batch started
        from (Redis lost or reverted it): then nothing is staged and the partition is restored.
        """
        calls = {}
        for p, (base, offset, writes) in batches.items():
            args: list[Any] = [fence.epoch, fence.token, -1 if base is None else base, offset]
            for key, value in writes.items():
                args += [key, _staged(value)]
            calls[p] = args
        return self._each("prepare", calls)

    def finalize(self, offsets: Mapping[int, int], fence: Fence) -> dict[int, str]:
        """Applies the staged writes once Kafka committed: "ok", "fenced" or "missing"."""
        return self._each("finalize", {p: [fence.epoch, fence.token, o] for p, o in offsets.items()})

    def recover(self, partition: int, committed: int | None, fence: Fence, stateful: bool) -> Recovered:
        """Resolves a staged batch against Kafka's committed offset; says whether the cache is behind.

        A stateless partition simply adopts Kafka's offset. A stateful one whose cache does not
        reflect the committed offset is `behind`: the caller restores it from the changelog.
        """
        status, offset = self._script(
            keys=self.keys(partition),
            args=["recover", fence.epoch, fence.token, -1 if committed is None else committed, int(stateful)],
        )
        status = status.decode()
        if status not in ("ok", "behind"):
            raise PermissionError(f"partition {partition}: {status} while recovering")
        return Recovered(offset=None if offset < 0 else int(offset), behind=status == "behind")

    def restore(
        self,
        partition: int,
        fence: Fence,
        items: Mapping[bytes, bytes | None],
        first: bool,
        done: bool,
        offset: int | None = None,
    ) -> str:
        """Loads one chunk of the changelog into the cache: "ok" or "fenced".

        The first chunk empties the partition (and forgets its offset, so a restore cut short is
        redone); the last one (`done`) records the input offset the restored state reflects.
        """
        sets: list[bytes] = []
        deleted: list[bytes] = []
        for key, value in items.items():
            if value is None:
                deleted.append(key)
            else:
                sets += (key, value)
        args: list[Any] = ["restore", fence.epoch, fence.token, int(first), int(done)]
        args += [-1 if offset is None else offset, len(sets) // 2, *sets, *deleted]
        return self._script(keys=self.keys(partition), args=args).decode()

    def scan(self, partition: int, cursor: int, count: int) -> tuple[int, dict[bytes, bytes]]:
        """One page of a partition's committed state (HSCAN): the next cursor (0: done) and the items."""
        next_cursor, items = self._redis.hscan(self.keys(partition)[1], cursor, count=count)
        return int(next_cursor), items

    def release(self, partitions: Iterable[int], fence: Fence) -> dict[int, str]:
        """Marks partitions as cleanly handed over, so their next owner needs no grace period."""
        return self._each("release", {p: [fence.epoch, fence.token] for p in partitions})

    def get(self, keys: Mapping[int, list[bytes]]) -> dict[int, list[bytes | None]]:
        """Committed values of many keys in many partitions, in one round trip."""
        wanted = [p for p, ks in keys.items() if ks]
        pipe = self._redis.pipeline(transaction=False)
        for p in wanted:
            pipe.hmget(self.keys(p)[1], keys[p])
        found = dict(zip(wanted, pipe.execute(), strict=True))
        return {p: found.get(p, []) for p in keys}

    def meta(self, partition: int) -> dict[str, str]:
        """The partition's ownership record, for diagnostics and tests."""
        raw = self._redis.hgetall(self.keys(partition)[0])
        return {k.decode(): v.decode() for k, v in raw.items()}

    def _each(self, script: str, calls: Mapping[int, list[Any]]) -> dict[int, str]:
        pipe = self._redis.pipeline(transaction=False)
        for p, args in calls.items():
            self._script(keys=self.keys(p), args=[script, *args], client=pipe)
        return {p: r.decode() for p, r in zip(calls, pipe.execute(), strict=True)}


def namespace(deployment: str, entity: str, input_topic: str) -> str:
    """State is keyed by entity and input partition; the topic is part of it because offsets are."""
    return f"{deployment}:{entity}:{input_topic}"


def delete_deployment_state(url: str, deployment: str) -> int:
    """Deletes every state key of a deployment (all entities and partitions); returns how many.

    For when a deployment is deleted for good, and for tests. Never while its pods run.
    """
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"invoker:{{{deployment}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        return len(keys)
    finally:
        client.close()
