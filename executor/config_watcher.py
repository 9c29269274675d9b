"""Watches the pod's config from two sources and hands out consistent snapshots of it.

**The mounted ConfigMap.** The kubelet writes every version of a ConfigMap into a fresh
timestamped directory and then swaps the `..data` symlink to it atomically; `main.json` and
`<pod>.json` are symlinks through `..data`. Reading both files through the *resolved* target
directory therefore always yields one version, never a mix of two. A change is noticed by a
`readlink` per poll (cheap enough to do every loop iteration), which also works where inotify
misses symlink swaps. A directory of plain files (no `..data`) is supported for development;
its version is the files' mtimes. The kubelet updates these files only on its periodic sync.

**The API.** In a cluster the pod also watches its ConfigMap through the API server
(`configmap_watch.py`), which reports a change within milliseconds. Both sources go through
the same parsing, and `config_arbiter.py` decides which version runs: a lower assignment epoch
never does, from either source; the mounted file is the fallback whenever the API watch is not
in sync.

An invalid new version is logged and ignored: the last valid snapshot keeps running.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from executor.config import ConfigError, PodConfig, decode_json, parse_main, parse_pod
from executor.config_arbiter import API, FILE, Arbiter, Snapshot, Verdict
from executor.configmap_watch import ApiVersion, ConfigMapWatch, from_environ

__all__ = ["ConfigWatcher", "Snapshot"]
log = logging.getLogger(__name__)
DATA_LINK = "..data"
MAIN_FILE = "main.json"
#: The version of plain files (no ``..data`` link): a prefix no kubelet data directory has.
PLAIN = "plain:"


class _Api(enum.Enum):
    FROM_ENVIRONMENT = "the API watch the pod's environment describes"


#: The default ``api`` of a ConfigWatcher: watch through the API when the environment allows it.
FROM_ENVIRONMENT = _Api.FROM_ENVIRONMENT


class ConfigWatcher:
    """Loads the pod's config and reports when a new valid version appears, from either source."""

    def __init__(
        self, config_dir: Path, pod_name: str, api: ConfigMapWatch | _Api | None = FROM_ENVIRONMENT
    ) -> None:
        """``api``: by default the watch ``configmap_watch.from_environ`` describes (none outside a
        cluster, e.g. in the local backend's pods), started here; None for the files only."""
        if api is FROM_ENVIRONMENT:
            api = from_environ()
            if api is not None:
                api.start()
        self._dir = config_dir
        # Built once: the loop looks at the files before every batch, and an idle pod's loop turns
        # five times a second (building the paths each time was 16 of 181 GIL-held py-spy samples).
        self._link = config_dir / DATA_LINK
        self._plain_files = (config_dir / MAIN_FILE, config_dir / f"{pod_name}.json")
        self._pod_name = pod_name
        self._api: ConfigMapWatch | None = api
        self._arbiter = Arbiter()
        self._file_version: str | None = None  # the last valid file version offered
        self._api_taken: ApiVersion | None = None  # the last API version offered
        self._rejected: str | None = None

    @property
    def current(self) -> Snapshot | None:
        return self._arbiter.current

    @property
    def api(self) -> ConfigMapWatch | None:
        return self._api

    def load(self) -> Snapshot:
        """The running version after reading the files (and taking what the API has); raises
        ConfigError when neither source has a usable version."""
        try:
            self._offer(self._load_file())
        except ConfigError:
            self._poll_api()
            if self.current is None:
                raise
        self._poll_api()
        assert self.current is not None  # the first valid version offered is always applied
        return self.current

    def poll(self) -> Snapshot | None:
        """Returns the new running snapshot when a source brought one, else None; never blocks."""
        before = self.current
        self._poll_api()
        self._poll_file()
        return self.current if self.current is not before else None

    def ahead(self) -> PodConfig | None:
        """The pod's assignment in the newest version the API watch received, when the loop has
        not polled it yet and it runs a newer epoch with the same clients (``runtime_key``);
        else None. Applies nothing (the arbiter would apply it: a higher epoch always wins), and
        reads only the watch's latest version and the running snapshot, each replaced whole,
        so another thread may call it: the io sidecar starts claiming what a move gives it
        while its loop still finishes a batch (ownership.py)."""
        latest, running = self._api.latest() if self._api is not None else None, self.current
        if latest is None or running is None or latest is self._api_taken:
            return None
        if f"{self._pod_name}.json" not in latest.data:
            return None
        try:
            snapshot = self._parse(latest.data.get, f"api:{latest.resource_version}", latest.received_at, API)
        except ConfigError:
            return None  # the loop says why when it polls it
        if snapshot.pod.epoch <= running.pod.epoch or snapshot.main.runtime_key != running.main.runtime_key:
            return None
        return snapshot.pod

    # --- the sources ---------------------------------------------------------------------------
    @property
    def changed(self) -> threading.Event | None:
        """Set when the API watch received a version not yet polled (None without a watch): the
        io sidecar's loop stops waiting for records when it is, instead of at the end of its poll."""
        return self._api.changed if self._api is not None else None

    def _poll_api(self) -> None:
        if self._api is not None:
            self._api.changed.clear()  # before reading: a version arriving after it sets it again
        latest = self._api.latest() if self._api is not None else None
        if latest is None or latest is self._api_taken:
            return
        self._api_taken = latest
        version = f"api:{latest.resource_version}"
        try:
            snapshot = self._parse(latest.data.get, version, latest.received_at, API)
        except ConfigError as exc:
            self._reject(version, str(exc))
            return
        self._offer(snapshot)

    def _poll_file(self) -> None:
        try:
            version = self._version()
        except ConfigError as exc:
            self._reject(str(exc), str(exc))
            return
        if version in (self._file_version, self._rejected):
            return
        try:
            snapshot = self._load_file()
        except ConfigError as exc:
            self._reject(version, str(exc))
            return
        self._offer(snapshot)

    def _offer(self, snapshot: Snapshot) -> None:
        if snapshot.source == FILE:
            self._file_version = snapshot.version
        running = self.current
        verdict = self._arbiter.offer(snapshot, api_in_sync=self._api is not None and self._api.in_sync)
        if verdict is Verdict.STALE and running is not None:
            log.warning(
                "ignoring config version %s from the %s: its epoch %d is older than the running %d",
                snapshot.version, snapshot.source, snapshot.pod.epoch, running.pod.epoch,
            )  # fmt: skip
        elif verdict is Verdict.APPLY and running is not None:
            # How long the version waited for the loop: the API's from its watch event, the
            # file's from the kubelet's write (benchmarks/kube_move_latency.py splits a move by it).
            log.info(
                "config version %s from the %s (epoch %d, %.0f ms after it arrived)",
                snapshot.version,
                snapshot.source,
                snapshot.pod.epoch,
                max(0.0, time.time() - snapshot.changed_at) * 1000,
            )

    def _reject(self, version: str, reason: str) -> None:
        if version != self._rejected:
            log.error("ignoring invalid config version %s: %s (keeping the last valid one)", version, reason)
        self._rejected = version

    # --- parsing, shared by both sources -------------------------------------------------------
    def _parse(
        self, read: Callable[[str], str | None], version: str, changed_at: float, source: str
    ) -> Snapshot:
        main_text = read(MAIN_FILE)
        if main_text is None:
            raise ConfigError(f"{MAIN_FILE}: missing")
        main = parse_main(decode_json(main_text, MAIN_FILE))
        pod_file = f"{self._pod_name}.json"
        pod_text = read(pod_file)
        if pod_text is not None:
            pod = parse_pod(decode_json(pod_text, pod_file), pod_file)
        else:  # the pod was removed from the entity: it keeps nothing and releases what it had
            epoch = self.current.pod.epoch if self.current else 0
            log.warning("%s is absent from config version %s: owning no partitions", pod_file, version)
            pod = PodConfig(pod=self._pod_name, partitions=frozenset(), epoch=epoch)
        return Snapshot(main=main, pod=pod, version=version, changed_at=changed_at, source=source)

    # --- the mounted files ---------------------------------------------------------------------
    def _load_file(self) -> Snapshot:
        for _ in range(5):  # a swap can delete the directory between readlink and read
            version, base = self._locate()
            try:
                return self._read(version, base)
            except ConfigError:
                if self._version() != version:
                    continue
                raise
        raise ConfigError(f"{self._dir}: the config kept changing while it was read")

    def _locate(self) -> tuple[str, Path]:
        version = self._version()
        return version, self._dir if version.startswith(PLAIN) else self._dir / version

    def _version(self) -> str:
        """The files' version: the kubelet's data directory (the ``..data`` link's target), else
        the plain files' mtimes and sizes."""
        try:
            return os.readlink(self._link)
        except FileNotFoundError:
            return self._plain_version()
        except OSError as exc:
            raise ConfigError(f"{self._link}: {exc.strerror}") from exc

    def _plain_version(self) -> str:
        parts = []
        for path in self._plain_files:
            try:
                st = path.stat()
                parts.append(f"{st.st_mtime_ns}:{st.st_size}")
            except OSError:
                parts.append("-")
        return PLAIN + ",".join(parts)

    def _read(self, version: str, base: Path) -> Snapshot:
        try:
            changed_at = base.stat().st_mtime
        except OSError as exc:
            raise ConfigError(f"{base}: {exc.strerror}") from exc
        return self._parse(lambda name: _read_text(base / name), version, changed_at, FILE)


def _read_text(path: Path) -> str | None:
    """A config file's text; None when it does not exist."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot read ({exc.strerror})") from exc
