"""Watches a kubelet-style mounted ConfigMap and hands out consistent snapshots of it.

The kubelet writes every version of a ConfigMap into a fresh timestamped directory and then
swaps the `..data` symlink to it atomically; `main.json` and `<pod>.json` are symlinks through
`..data`. Reading both files through the *resolved* target directory therefore always yields
one version, never a mix of two. A change is noticed by a `readlink` per poll (cheap enough to
do every loop iteration), which also works where inotify misses symlink swaps. A directory of
plain files (no `..data`) is supported for development; its version is the files' mtimes.

An invalid new version is logged and ignored: the last valid snapshot keeps running.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from executor.config import ConfigError, MainConfig, PodConfig, parse_main, parse_pod, read_json

log = logging.getLogger(__name__)
DATA_LINK = "..data"


@dataclass(frozen=True)
class Snapshot:
    """One consistent version of the pod's configuration."""

    main: MainConfig
    pod: PodConfig
    version: str
    changed_at: float  # wall-clock time the version was written (mtime of its directory)


class ConfigWatcher:
    """Loads the pod's config and reports when a new valid version appears."""

    def __init__(self, config_dir: Path, pod_name: str) -> None:
        self._dir = config_dir
        self._pod_name = pod_name
        self._current: Snapshot | None = None
        self._rejected: str | None = None

    @property
    def current(self) -> Snapshot | None:
        return self._current

    def load(self) -> Snapshot:
        """Reads the current version; raises ConfigError when it is not usable."""
        for _ in range(5):  # a swap can delete the directory between readlink and read
            version, base = self._locate()
            try:
                snapshot = self._read(version, base)
            except ConfigError:
                if self._locate()[0] != version:
                    continue
                raise
            self._current = snapshot
            return snapshot
        raise ConfigError(f"{self._dir}: the config kept changing while it was read")

    def poll(self) -> Snapshot | None:
        """Returns a new snapshot when the version changed and is valid, else None."""
        try:
            version, _ = self._locate()
        except ConfigError as exc:
            self._reject(str(exc), str(exc))
            return None
        if (self._current is not None and version == self._current.version) or version == self._rejected:
            return None
        try:
            return self.load()
        except ConfigError as exc:
            self._reject(version, str(exc))
            return None

    def _reject(self, version: str, reason: str) -> None:
        if version != self._rejected:
            log.error("ignoring invalid config version %s: %s (keeping the last valid one)", version, reason)
        self._rejected = version

    def _locate(self) -> tuple[str, Path]:
        link = self._dir / DATA_LINK
        try:
            target = os.readlink(link)
        except FileNotFoundError:
            return self._plain_version(), self._dir
        except OSError as exc:
            raise ConfigError(f"{link}: {exc.strerror}") from exc
        return target, self._dir / target

    def _plain_version(self) -> str:
        parts = []
        for name in ("main.json", f"{self._pod_name}.json"):
            try:
                st = (self._dir / name).stat()
                parts.append(f"{st.st_mtime_ns}:{st.st_size}")
            except OSError:
                parts.append("-")
        return "plain:" + ",".join(parts)

    def _read(self, version: str, base: Path) -> Snapshot:
        main = parse_main(read_json(base / "main.json"))
        pod_path = base / f"{self._pod_name}.json"
        if pod_path.exists():
            pod = parse_pod(read_json(pod_path), pod_path.name)
        else:  # the pod was removed from the entity: it keeps nothing and releases what it had
            epoch = self._current.pod.epoch if self._current else 0
            log.warning("%s is absent from config version %s: owning no partitions", pod_path.name, version)
            pod = PodConfig(pod=self._pod_name, partitions=frozenset(), epoch=epoch)
        try:
            changed_at = base.stat().st_mtime
        except OSError as exc:
            raise ConfigError(f"{base}: {exc.strerror}") from exc
        return Snapshot(main=main, pod=pod, version=version, changed_at=changed_at)
