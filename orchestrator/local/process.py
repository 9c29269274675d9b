"""One container as a local process: started, watched, restarted with back-off, stopped.

Nothing here blocks: the runtime calls ``supervise`` on every sync pass, so one crash-looping or
slowly terminating container never delays the others. Each process gets its own session (a
terminal's Ctrl-C reaches the runtime, which stops pods in order, not every process at once)
and, on Linux, dies with the runtime (``PR_SET_PDEATHSIG``), so a killed runtime leaves no pod
consuming partitions behind it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podcontract.env import TUNING_ENV

#: What a pod's processes take from the runtime's own environment: the basics any process needs,
#: and the executor's tuning knobs and log level (the pod contract's ``TUNING_ENV``).
#: Everything else stays out: the runtime may run beside the control plane with its Redis URL,
#: database URL, secret key and kubeconfig, which no pod should see. A pod's own variables (the
#: manifest's, the image map's, POD_NAME and the directories) are added on top.
INHERITED_ENV = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "PYTHONPATH",
        *TUNING_ENV,
    }
)


def inherited_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` a pod's process may inherit (:data:`INHERITED_ENV` and ``LC_*``)."""
    return {k: v for k, v in environ.items() if k in INHERITED_ENV or k.startswith("LC_")}


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM it when the runtime's thread exits."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


#: How long a container restarted after a crash must run before it no longer counts as crash-looping.
RECOVERED_SECONDS = 10.0
#: How much of a log's end is read for its last line, and how much of that line is kept.
_LOG_TAIL_BYTES, _LINE_CHARS = 8192, 300
#: The executor's log prefix "2026-12-06 08:28:05,663 " (executor/service.py).
_TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[,.]\d+)?Z? ")


def last_log_line(path: Path) -> str | None:
    """The last non-blank line of a log, skipping a traceback's indented frames: for a Python
    crash that is "KafkaError: output topic 'x' does not exist", the line that says why."""
    try:
        with open(path, "rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
            tail = log.read().decode(errors="replace")
    except OSError:
        return None
    lines = [line.strip() for line in tail.splitlines() if line.strip() and not line.startswith((" ", "\t"))]
    # Without its time stamp the same crash gives the same reason, so the status is not rewritten.
    return _TIMESTAMP_RE.sub("", lines[-1])[:_LINE_CHARS] if lines else None


#: What the executor logs while it retries a start-up step (executor/io_sidecar.py, ``patiently``):
#: ``... WARNING ...: start-up step failed (<error>); retrying``. The process stays alive, so only
#: its log says that it cannot work, e.g. "output topic 'x' does not exist".
_STARTUP_FAILED, _RETRYING = "start-up step failed (", "); retrying"


def startup_error(line: str) -> str | None:
    """The error of a "start-up step failed (...); retrying" log line; None for any other line."""
    start = line.find(_STARTUP_FAILED)
    if start < 0:
        return None
    error = line[start + len(_STARTUP_FAILED) :]
    return error[: -len(_RETRYING)] if error.endswith(_RETRYING) else error


def _read_from(path: Path, offset: int) -> str:
    """What a log gained since ``offset`` (its last _LOG_TAIL_BYTES at most)."""
    try:
        with open(path, "rb") as log:
            end = log.seek(0, os.SEEK_END)
            log.seek(max(offset, end - _LOG_TAIL_BYTES, 0))
            return log.read().decode(errors="replace")
    except OSError:
        return ""


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``base`` doubling per consecutive crash up to ``cap``; a run that lasted
    ``stable`` seconds forgets the earlier crashes (the kubelet's policy, with shorter times)."""

    base: float = 1.0
    cap: float = 30.0
    stable: float = 60.0

    def delay(self, crashes: int) -> float:
        return min(self.cap, self.base * 2 ** max(0, crashes - 1))


@dataclass
class Container:
    """A command with its environment, and the state the kubelet would report for it."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    crashes: int = 0
    started: float = 0.0
    started_at: str | None = None
    retry_at: float | None = None
    backoff: float = 0.0
    last_exit: int | None = None
    error: str | None = None
    #: The last meaningful line its log had when it last exited: the reason people need.
    last_line: str | None = None
    #: The line its log must have (since it started) before it is ready; None: none needed.
    ready_line: str | None = None
    #: How far its log was read, the start-up error its last line reports, whether it is ready.
    log_size: int = -1
    stuck: str | None = None
    announced: bool = True

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.alive and self.process else None

    def up_for(self) -> float:
        """Seconds the current process has been running; 0 when there is none."""
        return time.monotonic() - self.started if self.alive else 0.0

    def start(self, backoff: Backoff) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.started, self.retry_at = time.monotonic(), None
        self.stuck, self.log_size = None, self.log.stat().st_size if self.log.exists() else 0
        self.announced = self.ready_line is None
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            with open(self.log, "ab") as out:
                self.process = subprocess.Popen(
                    self.argv,
                    env=self.env,
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            self.error = None
        except OSError as exc:  # not found, not executable: a crash of this container, not the runtime's
            self.process, self.error = None, f"cannot run {self.argv[0]!r}: {exc.strerror}"
            self._crashed(127, backoff)

    def supervise(self, backoff: Backoff) -> None:
        """Notices an exit and schedules the restart; restarts once the back-off has passed."""
        if self.process is not None and self.process.poll() is not None:
            self._crashed(self.process.returncode, backoff)
        if self.process is None and self.retry_at is not None and time.monotonic() >= self.retry_at:
            self.restarts += 1
            self.start(backoff)

    def _crashed(self, code: int, backoff: Backoff) -> None:
        now = time.monotonic()
        if now - self.started >= backoff.stable:
            self.crashes = 0
        self.crashes += 1
        self.backoff = backoff.delay(self.crashes)
        self.process, self.last_exit, self.retry_at = None, code, now + self.backoff
        self.last_line = self.error or last_log_line(self.log)

    def crash_message(self) -> str:
        """ "container udf exited with code 3: ValueError: boom" for the pod's CrashLoop reason."""
        text = f"container {self.name} exited with code {self.last_exit}"
        return f"{text}: {self.last_line}" if self.last_line else text

    def startup_failure(self) -> str | None:
        """While it runs: the start-up error it keeps retrying, if its last log line says so. The
        log is read again only when it grew, so a quiet container costs one stat per pass."""
        if not self.alive:
            return None
        try:
            size = self.log.stat().st_size
        except OSError:
            return None
        if size != self.log_size:
            if not self.announced and self.ready_line is not None:
                self.announced = self.ready_line in _read_from(self.log, self.log_size)
            self.log_size, self.stuck = size, startup_error(last_log_line(self.log) or "")
        return self.stuck

    @property
    def crash_looping(self) -> bool:
        """Waiting for its restart after a crash, or restarted less than RECOVERED_SECONDS ago: a
        crash loop whose process lives a few milliseconds must not flap to Running and back. That
        includes a restarted process that has exited again before ``supervise`` noticed (a pass
        late at load 12 showed the pod Running between two crashes)."""
        if self.alive:
            return self.crashes > 0 and self.up_for() < RECOVERED_SECONDS
        return self.retry_at is not None or (self.process is not None and self.crashes > 0)

    def signal(self, sig: signal.Signals) -> None:
        """Signals the container's whole process group (a wrapper script's children too)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)

    def stopped(self) -> bool:
        """True once the process has exited (after which nothing restarts it)."""
        self.retry_at = None
        if self.process is None or self.process.poll() is None:
            return self.process is None
        self.signal(signal.SIGKILL)  # leftovers of its process group
        self.last_exit, self.process = self.process.returncode, None
        return True

    def status(self) -> dict[str, Any]:
        state, reason = ("running", None) if self.alive else ("waiting", "CrashLoopBackOff")
        if self.retry_at is None and not self.alive:
            state, reason = ("terminated", None) if self.started_at else ("waiting", "ContainerCreating")
        return {
            "pid": self.pid,
            "state": state,
            "reason": reason,
            "message": self.error or (self.crash_message() if self.last_exit is not None else None),
            "restarts": self.restarts,
            "lastExitCode": self.last_exit,
            "backoffSeconds": self.backoff,
            "startedAt": self.started_at,
        }
