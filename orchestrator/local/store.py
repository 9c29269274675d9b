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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
        return (
            self.objects_root
            / check_name(namespace, "namespace")
            / check_kind(kind)
            / f"{check_name(name)}.json"
        )

    def pod_status_path(self, namespace: str, deployment: str) -> Path:
        return self.root / "pods" / check_name(namespace, "namespace") / f"{check_name(deployment)}.json"

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
        directory = self.objects_root / check_name(namespace, "namespace") / check_kind(kind)
        found = (read_json(path) for path in _json_files(directory))
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
