"""A ConfigMap mounted as a directory, laid out exactly as the kubelet lays it out.

The kubelet writes each version of a ConfigMap into a timestamped directory, points the
``..data`` symlink at it in one atomic rename, and gives every key a symlink through ``..data``.
The executor's config watcher relies on that swap to read ``main.json`` and ``<pod>.json`` from
one version. The local runtime and the tests write their ConfigMaps with :class:`ConfigMapDir`,
so a pod sees there what it would see in a cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

#: The symlink to the current version's directory.
DATA_LINK = "..data"


class ConfigMapDir:
    """A directory materialised like a kubelet ConfigMap volume."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._versions = 0

    def write(self, files: dict[str, Any]) -> None:
        """Publishes a new version atomically: readers see all of it or none of it. A value that is
        not a string is written as JSON."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._versions += 1
        stamp = time.strftime("%Y_%m_%d_%H_%M_%S") + f".{time.time_ns() % 10**9:09d}{self._versions}"
        version = self.path / f"..{stamp}"
        version.mkdir()
        for name, content in files.items():
            (version / name).write_text(content if isinstance(content, str) else json.dumps(content))
        data, tmp = self.path / DATA_LINK, self.path / f"{DATA_LINK}_tmp"
        old = os.readlink(data) if data.is_symlink() else None
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(version.name)
        tmp.replace(data)
        self._link_keys(set(files))
        if old:
            shutil.rmtree(self.path / old, ignore_errors=True)

    def _link_keys(self, names: set[str]) -> None:
        for name in names:
            link = self.path / name
            if not link.is_symlink():
                link.symlink_to(f"{DATA_LINK}/{name}")
        for link in self.path.iterdir():
            if link.is_symlink() and not link.name.startswith("..") and link.name not in names:
                link.unlink()
