"""The last lines of a pod's container logs, and what they gained since, from either backend.

A deployment's pods are addressed as the dashboard names them (the ``invoker.io/pod`` label,
e.g. ``splitter-0``), their containers as the pod contract does (``udf``, ``io``, ``state``).
:class:`LocalLogs` reads the files the local runtime writes
(``runtime/logs/<namespace>/<Deployment>/<container>.log``); :class:`KubeLogs` asks the
Kubernetes API (``pods/log``, which the chart's Role grants). Both bound what one read returns
to :data:`MAX_LINES` lines and :data:`MAX_BYTES` bytes, so a chatty pod cannot make a request,
or a follow step, as large as its log. A request that cannot be served raises
:class:`LogRequestError` (the request is wrong: HTTP 400) or :class:`LogNotFoundError` (the pod
or container does not exist: HTTP 404), each with a message that names what is wrong.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from orchestrator.reconciler.convert import (
    CONTAINER_IO,
    CONTAINER_STATE,
    CONTAINER_UDF,
    LABEL_INSTANCE,
    LABEL_POD,
)

CONTAINERS = (CONTAINER_UDF, CONTAINER_IO, CONTAINER_STATE)
DEFAULT_LINES = 200
MAX_LINES = 2000
#: What one read returns at most: the last lines that fit.
MAX_BYTES = 256 * 1024
#: A pod name as the spec allows it (a DNS label).
_POD_RE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class LogRequestError(ValueError):
    """The request itself is wrong (a container that no pod has, a line count out of range)."""


class LogNotFoundError(LookupError):
    """The pod, or its container, does not exist (now)."""


class LogSourceError(RuntimeError):
    """Where the logs come from failed to answer (the Kubernetes API refused or was away)."""


def _api_failure(exc: Exception) -> LogSourceError:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None) or type(exc).__name__
    return LogSourceError(f"the Kubernetes API did not give the logs ({status or 'no answer'}: {reason})")


@dataclass
class LogChunk:
    """Lines of one container's log; ``cursor`` is where the next :meth:`follow` starts."""

    pod: str
    container: str
    lines: list[str]
    cursor: Any = None
    #: Whether older lines were left out to stay within :data:`MAX_BYTES`.
    truncated: bool = False


class LogReader(Protocol):
    def pods(self, deployment: str) -> list[dict[str, Any]]: ...

    def tail(self, deployment: str, pod: str, container: str, lines: int) -> LogChunk: ...

    def follow(self, deployment: str, chunk: LogChunk) -> LogChunk: ...


def check_request(pod: str, container: str, lines: int) -> None:
    """Raises :class:`LogRequestError` naming the first thing wrong with a request."""
    if not _POD_RE.fullmatch(pod or ""):
        raise LogRequestError(f"pod {pod!r} is not a pod name (lowercase letters, digits and '-')")
    if container not in CONTAINERS:
        raise LogRequestError(f"container {container!r} is not one of {', '.join(CONTAINERS)}")
    if not 1 <= lines <= MAX_LINES:
        raise LogRequestError(f"lines must be from 1 to {MAX_LINES}, not {lines}")


def last_lines(data: bytes, lines: int, cut: bool) -> tuple[list[str], bool]:
    """The last ``lines`` whole lines of ``data``; ``cut``: data starts inside the file, so its
    first line may be partial and is dropped. Returns the lines and whether any were left out."""
    text = data.decode(errors="replace")
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    if cut and parts:
        parts.pop(0)
    return parts[-lines:], cut or len(parts) > lines


class LocalLogs:
    """Reads the local runtime's log files; the pod statuses it writes say which pod runs where."""

    def __init__(self, state_dir: Path | str, namespace: str = "default") -> None:
        self.root = Path(state_dir)
        self.namespace = namespace

    def _statuses(self, deployment: str) -> list[dict[str, Any]]:
        directory = self.root / "pods" / self.namespace
        found = []
        for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
            try:
                status = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # being replaced right now (whole-file writes) or gone
            if status.get("instance") == deployment and status.get("reason") != "Terminating":
                found.append(status)
        return found

    def pods(self, deployment: str) -> list[dict[str, Any]]:
        """The deployment's pods with their containers, as the logs page lists them."""
        return [
            {
                "pod": s.get("pod"),
                "entity": s.get("entity"),
                "phase": s.get("phase"),
                "containers": [c for c in CONTAINERS if c in (s.get("containers") or {})],
            }
            for s in self._statuses(deployment)
        ]

    def _path(self, deployment: str, pod: str, container: str) -> Path:
        statuses = self._statuses(deployment)
        status = next((s for s in statuses if s.get("pod") == pod), None)
        if status is None:
            known = ", ".join(sorted(str(s.get("pod")) for s in statuses)) or "none"
            raise LogNotFoundError(f"deployment {deployment!r} has no pod {pod!r} (its pods: {known})")
        if container not in (status.get("containers") or {}):
            has = ", ".join(c for c in CONTAINERS if c in (status.get("containers") or {})) or "none"
            raise LogNotFoundError(f"pod {pod!r} has no container {container!r} (it has: {has})")
        return self.root / "runtime" / "logs" / self.namespace / status["deployment"] / f"{container}.log"

    def tail(self, deployment: str, pod: str, container: str, lines: int = DEFAULT_LINES) -> LogChunk:
        check_request(pod, container, lines)
        path = self._path(deployment, pod, container)
        try:
            with open(path, "rb") as log:
                end = log.seek(0, os.SEEK_END)
                start = max(0, end - MAX_BYTES)
                log.seek(start)
                data = log.read(end - start)
        except FileNotFoundError:
            return LogChunk(pod, container, [], cursor=(str(path), 0))
        complete = data.rfind(b"\n") + 1  # a line still being written comes with the next follow
        shown, truncated = last_lines(data[:complete], lines, cut=start > 0)
        return LogChunk(pod, container, shown, cursor=(str(path), start + complete), truncated=truncated)

    def follow(self, deployment: str, chunk: LogChunk) -> LogChunk:
        """The whole lines appended since ``chunk``; from the start if the file was replaced
        (shorter than the cursor), and only the last :data:`MAX_BYTES` if more was appended."""
        path, offset = chunk.cursor
        try:
            with open(path, "rb") as log:
                end = log.seek(0, os.SEEK_END)
                start = offset if offset <= end else 0
                start = max(start, end - MAX_BYTES)
                log.seek(start)
                data = log.read(end - start)
        except FileNotFoundError:
            return LogChunk(chunk.pod, chunk.container, [], cursor=(path, 0))
        complete = data.rfind(b"\n") + 1
        cut = start > offset or (start > 0 and offset > end)
        shown, truncated = last_lines(data[:complete], MAX_LINES, cut=cut)
        return LogChunk(
            chunk.pod, chunk.container, shown, cursor=(path, start + complete), truncated=truncated
        )


class KubeLogs:
    """Reads container logs through the Kubernetes API (``GET pods/log``)."""

    def __init__(self, api_client: Any, namespace: str) -> None:
        from kubernetes import client

        self.core = client.CoreV1Api(api_client)
        self.namespace = namespace

    def _pod_objects(self, deployment: str) -> list[Any]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        selector = f"{LABEL_INSTANCE}={deployment}"
        try:
            items = self.core.list_namespaced_pod(self.namespace, label_selector=selector).items
        except (ApiException, HTTPError) as exc:
            raise _api_failure(exc) from exc
        return [p for p in items if not p.metadata.deletion_timestamp]

    def pods(self, deployment: str) -> list[dict[str, Any]]:
        return [
            {
                "pod": (p.metadata.labels or {}).get(LABEL_POD),
                "entity": (p.metadata.labels or {}).get("invoker.io/entity"),
                "phase": p.status.phase if p.status else None,
                "containers": [c.name for c in p.spec.containers if c.name in CONTAINERS],
            }
            for p in self._pod_objects(deployment)
        ]

    def _pod(self, deployment: str, pod: str, container: str) -> str:
        objects = self._pod_objects(deployment)
        matching = [p for p in objects if (p.metadata.labels or {}).get(LABEL_POD) == pod]
        if not matching:
            known = (
                ", ".join(sorted({str((p.metadata.labels or {}).get(LABEL_POD)) for p in objects})) or "none"
            )
            raise LogNotFoundError(f"deployment {deployment!r} has no pod {pod!r} (its pods: {known})")
        newest = max(matching, key=lambda p: p.metadata.creation_timestamp)
        names = [c.name for c in newest.spec.containers]
        if container not in names:
            raise LogNotFoundError(f"pod {pod!r} has no container {container!r} (it has: {', '.join(names)})")
        return newest.metadata.name

    def _read(self, name: str, container: str, **options: Any) -> list[tuple[str, str]]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            text = self.core.read_namespaced_pod_log(
                name, self.namespace, container=container, timestamps=True, limit_bytes=MAX_BYTES, **options
            )
        except ApiException as exc:
            if exc.status in (400, 404):  # not started yet (400 "waiting to start"), or gone
                return []
            raise _api_failure(exc) from exc
        except HTTPError as exc:
            raise _api_failure(exc) from exc
        stamped = []
        for line in text.split("\n"):
            if line:
                stamp, _, rest = line.partition(" ")
                stamped.append((_key(stamp), rest))
        return stamped

    def tail(self, deployment: str, pod: str, container: str, lines: int = DEFAULT_LINES) -> LogChunk:
        check_request(pod, container, lines)
        name = self._pod(deployment, pod, container)
        stamped = self._read(name, container, tail_lines=lines)
        return LogChunk(pod, container, [t for _, t in stamped], cursor=_cursor(name, stamped, None))

    def follow(self, deployment: str, chunk: LogChunk) -> LogChunk:
        """Lines stamped after the cursor's last one (the API has no byte offsets): read with
        ``sinceSeconds`` a little before that stamp, the ones already sent dropped."""
        name, last, seen = chunk.cursor
        since = max(1, int(time.time() - _epoch(last)) + 2) if last else None
        stamped = self._read(name, chunk.container, since_seconds=since, tail_lines=MAX_LINES)
        fresh = [(s, t) for s, t in stamped if last is None or s > last or (s == last and t not in seen)]
        return LogChunk(
            chunk.pod, chunk.container, [t for _, t in fresh], cursor=_cursor(name, fresh, chunk.cursor)
        )


def _cursor(name: str, stamped: list[tuple[str, str]], previous: Any) -> tuple[str, str | None, set[str]]:
    if not stamped:
        return previous if previous else (name, None, set())
    last = stamped[-1][0]
    return (name, last, {t for s, t in stamped if s == last})


def _key(stamp: str) -> str:
    """A kubelet stamp (RFC 3339 with up to nine, trailing-zero-trimmed fraction digits) in a
    fixed width, so that stamps compare as strings in time order."""
    head, _, fraction = stamp.rstrip("Z").partition(".")
    return f"{head}.{fraction.ljust(9, '0')}"


def _epoch(stamp: str) -> float:
    """Seconds since the epoch of a kubelet stamp (the fraction is not needed here)."""
    return datetime.fromisoformat(stamp.rstrip("Z").partition(".")[0] + "+00:00").timestamp()
