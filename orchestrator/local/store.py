"""The local backend's state directory: the only thing the backend and the runtime share.

The backend (inside a reconcile) writes desired objects; the runtime writes what it runs. Each
file has exactly one writer and every write is a whole-file ``os.replace``, so a reader never
sees half a file and neither side needs to hold a lock while the other reads. Layout::

    STATE_DIR/
      objects/<namespace>/<Kind>/<name>.json   desired objects (backend writes, runtime reads)
      objects/.changed                         a fresh token after every object write
      objects/.lock                            serialises read-modify-write among backends
      pods/<namespace>/<Deployment>.json       one pod's status per Deployment (runtime writes)
      runtime/runtime.json                     the runtime's pid and heartbeat
      runtime/runtime.lock                     held by the one runtime of this directory
      runtime/configmaps/<namespace>/<name>/   ConfigMaps as the kubelet mounts them (..data)
      runtime/logs/<namespace>/<Deployment>/<container>.log
      run/<pod uid>/                           each pod's private socket directory

Files are not fsynced: readers see whole files either way, and a write lost to a power cut is
rewritten by the next reconcile (desired state) or the next sync pass (status).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Kubernetes object names (DNS subdomains) and kinds; anything else could escape the directory.
_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_KIND_RE = re.compile(r"[A-Z][A-Za-z0-9]{0,62}")
#: A Unix socket path holds at most 107 bytes; the executor's longest name is `state.sock`.
_MAX_SOCKET_DIR = 90


class StateDirError(ValueError):
    """A name or kind that cannot be stored, or a file that is not JSON."""


def check_name(name: str, what: str = "name") -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise StateDirError(f"{what} {name!r} is not a valid Kubernetes object name")
    return name


def check_kind(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind):
        raise StateDirError(f"kind {kind!r} is not a valid Kubernetes kind")
    return kind


def write_json(path: Path, value: Any) -> None:
    """Writes a whole file atomically: a temporary file beside it, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(value, out, sort_keys=True, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any | None:
    """The decoded file, or None when it does not exist (a concurrent delete is not an error)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateDirError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from exc


def template_hash(template: dict[str, Any]) -> str:
    """Identifies a pod template: a pod runs one template, and a different hash replaces it."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _json_files(directory: Path) -> list[Path]:
    """The stored files of a directory, without the temporary files of writes in progress."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix == ".json" and not p.name.startswith("."))


@dataclass(frozen=True)
class StateDir:
    """Paths and reads/writes of one state directory."""

    root: Path

    @property
    def objects_root(self) -> Path:
        return self.root / "objects"

    @property
    def runtime_dir(self) -> Path:
        return self.root / "runtime"

    @property
    def runtime_file(self) -> Path:
        return self.runtime_dir / "runtime.json"

    def object_path(self, namespace: str, kind: str, name: str) -> Path:
        return self.kind_dir(namespace, kind) / f"{check_name(name)}.json"

    def kind_dir(self, namespace: str, kind: str) -> Path:
        return self.objects_root / check_name(namespace, "namespace") / check_kind(kind)

    def pod_status_path(self, namespace: str, deployment: str) -> Path:
        return self.pod_status_dir(namespace) / f"{check_name(deployment)}.json"

    def pod_status_dir(self, namespace: str) -> Path:
        return self.root / "pods" / check_name(namespace, "namespace")

    def config_map_dir(self, namespace: str, name: str) -> Path:
        return self.runtime_dir / "configmaps" / namespace / name

    def log_dir(self, namespace: str, deployment: str) -> Path:
        return self.runtime_dir / "logs" / namespace / deployment

    @property
    def socket_root(self) -> Path:
        """Under the state directory when the path is short enough for Unix sockets, else in /tmp."""
        base = self.root / "run"
        if len(str(base)) + 34 > _MAX_SOCKET_DIR:
            digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:12]
            base = Path(tempfile.gettempdir()) / f"invoker-run-{digest}"
        return base

    def socket_dir(self, uid: str) -> Path:
        return self.socket_root / check_name(uid.replace("-", "")[:32], "pod uid")

    def namespaces(self) -> list[str]:
        root = self.objects_root
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def read_object(self, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
        return read_json(self.object_path(namespace, kind, name))

    def list_objects(self, namespace: str, kind: str) -> list[dict[str, Any]]:
        found = (read_json(path) for path in _json_files(self.kind_dir(namespace, kind)))
        return [obj for obj in found if obj is not None]

    def write_object(self, namespace: str, obj: dict[str, Any]) -> None:
        write_json(self.object_path(namespace, obj["kind"], obj["metadata"]["name"]), obj)
        self.mark_changed()

    def remove_object(self, namespace: str, kind: str, name: str) -> bool:
        try:
            self.object_path(namespace, kind, name).unlink()
        except FileNotFoundError:
            return False
        self.mark_changed()
        return True

    def mark_changed(self) -> None:
        """A new unique token (not a counter: two writers must never produce the same value)."""
        write_json(self.objects_root / ".changed", uuid.uuid4().hex)

    def change_token(self) -> str | None:
        return read_json(self.objects_root / ".changed")

    def pod_statuses(self, namespace: str) -> list[dict[str, Any]]:
        found = (read_json(path) for path in _json_files(self.root / "pods" / namespace))
        return [status for status in found if status is not None]

    @contextmanager
    def objects_lock(self) -> Iterator[None]:
        """Serialises read-modify-write of objects among backends in several worker processes."""
        with _flock(self.objects_root / ".lock", blocking=True):
            yield


@contextmanager
def _flock(path: Path, blocking: bool) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def exclusive(path: Path) -> Any:
    """A non-blocking exclusive lock on ``path``: raises BlockingIOError when someone holds it."""
    return _flock(path, blocking=False)


#: File timestamps come from a coarse clock (a few ms): a file changed this close to the moment
#: it was read may change again with the same timestamp, so such a read is not trusted later.
_RACY_NS = 50_000_000


@dataclass
class _Cached:
    key: tuple[int, ...]
    read_ns: int
    value: Any
    groups: dict[str, dict[str, Any]] | None = None


def _stat_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class FileCache:
    """Decoded JSON files and directory listings, read again only when their ``stat`` changes.

    The local backend's equivalent of a watch cache, with no thread and no inotify: every write
    to a state directory replaces a whole file (``os.replace``), which gives the file a new inode
    and its directory a new modification time, so a directory whose ``stat`` is unchanged holds
    the same files with the same content. As git does with its index, an entry read within
    ``_RACY_NS`` of its last change is not trusted: a second change inside the same clock tick
    could leave the same ``stat``. ``reads`` counts the files actually read and decoded.
    Returned values are shared with the cache: read-only.
    """

    def __init__(self) -> None:
        self._files: dict[Path, _Cached] = {}
        self._dirs: dict[Path, _Cached] = {}
        self.reads = 0

    def read(self, path: Path) -> Any | None:
        """The decoded file, or None when it does not exist."""
        try:
            st = path.stat()
        except FileNotFoundError:
            self._files.pop(path, None)
            return None
        cached = self._files.get(path)
        if cached is not None and self._fresh(cached, st):
            return cached.value
        started = time.time_ns()
        value = read_json(path)
        self.reads += 1
        self._files[path] = _Cached(_stat_key(st), started, value)
        return value

    def listing(self, directory: Path) -> list[Any]:
        """The decoded stored files of ``directory`` (as ``_json_files`` selects them), by name."""
        return self._listing(directory).value

    def grouped(self, directory: Path, group: Callable[[Any], str | None]) -> dict[str, dict[str, Any]]:
        """The listing grouped by ``group(value)`` then by file name; computed once per listing
        (one grouping per directory: the backend groups each directory one way)."""
        cached = self._listing(directory)
        if cached.groups is None:
            groups: dict[str, dict[str, Any]] = {}
            for name, value in cached.value_by_name.items():
                key = group(value)
                if key is not None:
                    groups.setdefault(key, {})[name] = value
            cached.groups = groups
        return cached.groups

    def _listing(self, directory: Path) -> _Listing:
        try:
            st = directory.stat()
        except FileNotFoundError:
            self._dirs.pop(directory, None)
            return _Listing((), 0, [], value_by_name={})
        cached = self._dirs.get(directory)
        if cached is not None and self._fresh(cached, st):
            return cached  # type: ignore[return-value]
        started = time.time_ns()
        by_name = {}
        for path in _json_files(directory):
            value = self.read(path)
            if value is not None:
                by_name[path.stem] = value
        listing = _Listing(_stat_key(st), started, list(by_name.values()), value_by_name=by_name)
        self._dirs[directory] = listing
        return listing

    @staticmethod
    def _fresh(cached: _Cached, st: os.stat_result) -> bool:
        return cached.key == _stat_key(st) and st.st_mtime_ns < cached.read_ns - _RACY_NS


@dataclass
class _Listing(_Cached):
    value_by_name: dict[str, Any] = field(default_factory=dict)
