"""Keyed state in Redis, with the input offset it reflects and the fence of the partition's owner.

Per (deployment, entity, input topic, partition) three keys share one hash tag, so a Redis
Cluster keeps them on one shard and a Lua script can change them together:

    meta     hash: epoch, owner, token, released, offset, pending_offset
    state    hash: record key -> committed value
    pending  hash: record key -> b"s"+value | b"d"   (writes of the batch being committed)

A batch is committed in two phases around the Kafka transaction that carries its outputs and
input offsets: `prepare` stages its writes in `pending`, the transaction commits, `finalize`
moves `pending` into `state` and sets `offset`. Kafka's committed offset is the decision: on
recovery `pending` is applied if and only if its offset is the one Kafka committed. Every
write checks `token` (one per io-sidecar process) and `epoch`, so a fenced owner cannot touch
a partition that has moved on. The atomic steps are one Lua script, executor/state.lua.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis


class StateDivergedError(RuntimeError):
    """Redis and Kafka disagree about how far a partition's state got: state was lost or reset."""


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
        self, batches: Mapping[int, tuple[int, Mapping[bytes, bytes | None]]], fence: Fence
    ) -> dict[int, str]:
        """Stages each partition's writes with the offset after its batch: "ok" or "fenced"."""
        calls = {}
        for p, (offset, writes) in batches.items():
            args: list[Any] = [fence.epoch, fence.token, offset]
            for key, value in writes.items():
                args += [key, b"d" if value is None else b"s" + value]
            calls[p] = args
        return self._each("prepare", calls)

    def finalize(self, offsets: Mapping[int, int], fence: Fence) -> dict[int, str]:
        """Applies the staged writes once Kafka committed: "ok", "fenced" or "missing"."""
        return self._each("finalize", {p: [fence.epoch, fence.token, o] for p, o in offsets.items()})

    def recover(self, partition: int, committed: int | None, fence: Fence, stateful: bool) -> int | None:
        """Resolves a staged batch against Kafka's committed offset; returns where to resume."""
        status, offset = self._script(
            keys=self.keys(partition),
            args=["recover", fence.epoch, fence.token, -1 if committed is None else committed, int(stateful)],
        )
        status = status.decode()
        if status == "diverged":
            raise StateDivergedError(
                f"partition {partition}: Kafka committed input offset {committed} but the state reflects "
                f"offset {offset if offset >= 0 else 'none'}; the state store lost data or offsets were reset"
            )
        if status != "ok":
            raise PermissionError(f"partition {partition}: {status} while recovering")
        return None if offset < 0 else int(offset)

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
