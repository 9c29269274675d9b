"""The environment a pod's containers share, read once when a process starts.

Kubernetes gives every container the same variables (the pod name through the downward API);
the local runtime does the same. Their names are the pod contract's (``podcontract.env``). A
missing or malformed variable stops the process with its name in the message instead of a
KeyError deep inside a loop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from podcontract import env as names


class EnvError(RuntimeError):
    """A required environment variable is missing or malformed."""


def _require(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise EnvError(f"environment variable {name} is required")
    return value


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise EnvError(f"environment variable {name} must be a number, got {raw!r}") from None
    if value < 0:
        raise EnvError(f"environment variable {name} must not be negative, got {raw!r}")
    return value


@dataclass(frozen=True)
class PodEnv:
    """Where this pod's config, sockets and metrics live."""

    pod_name: str
    config_dir: Path
    socket_dir: Path
    metrics_port: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> PodEnv:
        return cls(
            pod_name=_require(environ, names.POD_NAME),
            config_dir=Path(_require(environ, names.CONFIG_DIR_ENV)),
            socket_dir=Path(_require(environ, names.SOCKET_DIR_ENV)),
            metrics_port=int(_number(environ, names.METRICS_PORT_ENV, names.METRICS_PORT)),
        )

    @property
    def udf_socket(self) -> Path:
        return self.socket_dir / names.UDF_SOCKET

    @property
    def state_socket(self) -> Path:
        return self.socket_dir / names.STATE_SOCKET


@dataclass(frozen=True)
class Tuning:
    """Knobs of the io sidecar's loop; the defaults favour throughput at sub-second latency."""

    batch_max_records: int = 20000  # records per batch (and per transaction) at most
    batch_max_seconds: float = 0.05  # how long a batch may gather records once the first arrived
    batch_min_records: int = 256  # a batch smaller than this gathers on, up to batch_linger_seconds
    batch_linger_seconds: float = 0.25  # how long a small batch may gather from its first record
    idle_poll_seconds: float = 0.2  # longest wait for records, so config changes are noticed
    handoff_grace_seconds: float = 5.0  # wait for a previous owner's release before fencing it
    udf_retries: int = 3  # retries of a record the UDF raised on, before its dead letter

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Tuning:
        d = cls()
        return cls(
            batch_max_records=int(_number(environ, names.BATCH_MAX_RECORDS_ENV, d.batch_max_records)),
            batch_max_seconds=_number(environ, names.BATCH_MAX_MS_ENV, d.batch_max_seconds * 1000) / 1000,
            batch_min_records=int(_number(environ, names.BATCH_MIN_RECORDS_ENV, d.batch_min_records)),
            batch_linger_seconds=_number(environ, names.BATCH_LINGER_MS_ENV, d.batch_linger_seconds * 1000)
            / 1000,
            idle_poll_seconds=_number(environ, names.IDLE_POLL_MS_ENV, d.idle_poll_seconds * 1000) / 1000,
            handoff_grace_seconds=_number(environ, names.HANDOFF_GRACE_MS_ENV, d.handoff_grace_seconds * 1000)
            / 1000,
            udf_retries=int(_number(environ, names.UDF_RETRIES_ENV, d.udf_retries)),
        )
