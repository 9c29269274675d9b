"""The state sidecar: serves keyed state over `state.sock`, backed by Redis.

Two clients talk to it: the UDF host reads the committed values of a batch's keys (`get`), and
the io sidecar drives ownership and the two-phase commit (`claim`, `recover`, `prepare`,
`finalize`, `release`) and refills Redis from the changelog it reads from Kafka (`restore`,
`scan`). Committed values are cached per partition: while this pod's io sidecar
holds a partition's fence nobody else can write it, so the cache is exact; it is dropped
whenever ownership changes hands or is re-established.

Run: `python -m executor.state_sidecar` with POD_NAME, INVOKER_CONFIG_DIR, INVOKER_SOCKET_DIR.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from executor.config_watcher import ConfigWatcher
from executor.env import PodEnv
from executor.protocol import Server
from executor.service import configure_logging, record_start, serve
from executor.state_store import Fence, StateStore, namespace

log = logging.getLogger(__name__)
CACHE_LIMIT = 1_000_000  # cached values per partition before the partition's cache is dropped


class StateService:
    """Request handlers; one lock, because the two clients' requests never need to overlap."""

    def __init__(self, watcher: ConfigWatcher) -> None:
        self._watcher = watcher
        self._lock = threading.Lock()
        self._store: StateStore | None = None
        self._store_key: tuple[str, str] | None = None
        self._cache: dict[int, dict[bytes, bytes | None]] = {}
        self._prepared: dict[int, dict[bytes, bytes | None]] = {}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise ValueError(f"unknown op {op!r}")
        with self._lock:
            return handler(request)

    def op_get(self, request: dict[str, Any]) -> dict[str, Any]:
        keys: dict[int, list[bytes]] = request["keys"]
        store = self.store()  # first: a new store starts with an empty cache
        missing = {p: [k for k in ks if k not in self._cache.setdefault(p, {})] for p, ks in keys.items()}
        fetched = store.get(missing)
        values = {}
        for p, ks in keys.items():
            cache = self._cache[p]
            cache.update(zip(missing[p], fetched[p], strict=True))
            values[p] = [cache[k] for k in ks]
            if len(cache) > CACHE_LIMIT:
                cache.clear()
        return {"values": values}

    def op_claim(self, request: dict[str, Any]) -> dict[str, Any]:
        partitions = list(request["partitions"])
        self._forget(partitions)
        results = self.store().claim(partitions, _fence(request), request["owner"], bool(request["force"]))
        return {"results": results}

    def op_recover(self, request: dict[str, Any]) -> dict[str, Any]:
        partition = int(request["partition"])
        self._forget([partition])
        found = self.store().recover(
            partition, request["committed"], _fence(request), bool(request["stateful"])
        )
        return {"offset": found.offset, "behind": found.behind}

    def op_restore(self, request: dict[str, Any]) -> dict[str, Any]:
        partition = int(request["partition"])
        self._forget([partition])
        result = self.store().restore(
            partition,
            _fence(request),
            request["items"],
            first=bool(request["first"]),
            done=bool(request["done"]),
            offset=request.get("offset"),
        )
        return {"result": result}

    def op_scan(self, request: dict[str, Any]) -> dict[str, Any]:
        cursor, items = self.store().scan(
            int(request["partition"]), int(request["cursor"]), int(request["count"])
        )
        return {"cursor": cursor, "items": items}

    def op_prepare(self, request: dict[str, Any]) -> dict[str, Any]:
        batches = {int(p): (b, int(o), w) for p, (b, o, w) in request["batches"].items()}
        results = self.store().prepare(batches, _fence(request))
        for p, (_, _, writes) in batches.items():
            self._prepared[p] = writes if results[p] == "ok" else {}
        return {"results": results}

    def op_finalize(self, request: dict[str, Any]) -> dict[str, Any]:
        offsets = {int(p): int(o) for p, o in request["offsets"].items()}
        results = self.store().finalize(offsets, _fence(request))
        for p, status in results.items():
            writes = self._prepared.pop(p, {})
            if status == "ok":
                self._cache.setdefault(p, {}).update(writes)
            else:
                self._forget([p])
        return {"results": results}

    def op_release(self, request: dict[str, Any]) -> dict[str, Any]:
        partitions = list(request["partitions"])
        self._forget(partitions)
        return {"results": self.store().release(partitions, _fence(request))}

    def store(self) -> StateStore:
        """The store of the current config; a changed backend or entity means a new one, cold."""
        snapshot = self._watcher.poll() or self._watcher.current or self._watcher.load()
        main = snapshot.main
        key = (main.state_url, namespace(main.deployment, main.entity, main.input_topic))
        if self._store is None or key != self._store_key:
            if self._store is not None:
                self._store.close()
            log.info("state store %s namespace %s", main.state_url, key[1])
            self._store, self._store_key = StateStore(*key), key
            self._cache.clear()
            self._prepared.clear()
        return self._store

    def _forget(self, partitions: list[int]) -> None:
        for p in partitions:
            self._cache.pop(p, None)
            self._prepared.pop(p, None)


def _fence(request: dict[str, Any]) -> Fence:
    return Fence(epoch=int(request["epoch"]), token=str(request["token"]))


def main() -> None:
    configure_logging("state")
    env = PodEnv.from_environ()
    record_start(env.socket_dir, "state")
    service = StateService(ConfigWatcher(env.config_dir, env.pod_name))
    serve(Server(env.state_socket, service.handle), "state sidecar", drain_seconds=60)


if __name__ == "__main__":
    main()
