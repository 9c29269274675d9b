"""What the runtime reads from the state directory, and the ConfigMaps it materialises.

A ConfigMap is written the way the kubelet mounts one (a timestamped directory, per-key
symlinks through ``..data``, one atomic swap per change), with the pod contract's
``ConfigMapDir`` so that pods see here exactly what their tests see and what a cluster shows
them. A ConfigMap is rewritten only when its data changed, and a change never restarts a pod:
the executor's config watcher picks up the swap.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.local.store import StateDir
from podcontract.volume import ConfigMapDir

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Desired:
    """The Deployments and the ConfigMaps' data of every namespace, as last read."""

    workloads: dict[Key, dict[str, Any]] = field(default_factory=dict)
    config_maps: dict[Key, dict[str, str]] = field(default_factory=dict)


def read_desired(store: StateDir) -> Desired:
    desired = Desired()
    for namespace in store.namespaces():
        for obj in store.list_objects(namespace, "Deployment"):
            desired.workloads[namespace, obj["metadata"]["name"]] = obj
        for obj in store.list_objects(namespace, "ConfigMap"):
            desired.config_maps[namespace, obj["metadata"]["name"]] = dict(obj.get("data") or {})
    return desired


def _digest(data: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class ConfigMaps:
    """Materialised ConfigMaps by (namespace, name), with the digest of what each holds."""

    def __init__(self, store: StateDir) -> None:
        self.store = store
        self._dirs: dict[Key, tuple[str, ConfigMapDir]] = {}

    def sync(self, desired: dict[Key, dict[str, str]], in_use: set[Path]) -> None:
        """Writes what changed; removes what is gone unless a pod still mounts it (the kubelet keeps
        a deleted ConfigMap's last content in a running pod's volume)."""
        for key, data in desired.items():
            self._write(key, data)
        for key in [k for k in self._dirs if k not in desired]:
            path = self._dirs[key][1].path
            if path not in in_use:
                shutil.rmtree(path, ignore_errors=True)
                del self._dirs[key]

    def _write(self, key: Key, data: dict[str, str]) -> None:
        digest = _digest(data)
        current = self._dirs.get(key)
        if current is not None and current[0] == digest:
            return
        writer = current[1] if current else ConfigMapDir(self.store.config_map_dir(*key))
        writer.write({name: str(value) for name, value in data.items()})
        self._dirs[key] = (digest, writer)

    def clear(self) -> None:
        """Forgets every directory (at start-up: no pod of an earlier runtime is still running)."""
        shutil.rmtree(self.store.runtime_dir / "configmaps", ignore_errors=True)
        self._dirs.clear()
