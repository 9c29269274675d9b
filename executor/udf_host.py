"""The UDF host: loads the user's function and serves whole batches over `udf.sock`.

The io sidecar sends one `process` request per batch (all polled records, grouped by input
partition); the host reads the state of every key in the batch from the state sidecar in one
`get`, runs the UDF record by record and answers with the encoded outputs, the state writes and
how long the user's code took (the io sidecar, which serves the pod's metrics, records it).
The host never talks to Kafka or Redis and holds nothing between batches, so restarting it
loses nothing.

Run: `python -m executor.udf_host <module>:<attribute>`, e.g. `executor.samples.word_count:udf`,
with POD_NAME, INVOKER_CONFIG_DIR, INVOKER_SOCKET_DIR.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from typing import Any

from executor.batch import RawRecord, run_batch
from executor.env import PodEnv
from executor.protocol import Client, Server
from executor.sdk import Udf
from executor.service import configure_logging, record_start, serve

log = logging.getLogger(__name__)


def load_udf(reference: str) -> Udf:
    """Imports `module:attribute` and checks that it is a Udf."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise SystemExit(f"UDF reference must look like 'package.module:attribute', got {reference!r}")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f"cannot load UDF {reference!r}: {exc}") from exc
    if not isinstance(target, Udf):
        raise SystemExit(f"{reference!r} is a {type(target).__name__}, not an executor.sdk.Udf")
    return target


class UdfService:
    """Request handlers of the UDF host."""

    def __init__(self, udf: Udf, reference: str, state: Client) -> None:
        self._udf = udf
        self._reference = reference
        self._state = state
        self._state_seconds = 0.0

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "hello":
            return {"udf": self._reference, "stateful": self._udf.stateful}
        if op == "process":
            return self._process(request["partitions"])
        raise ValueError(f"unknown op {op!r}")

    def _process(self, partitions: dict[int, list[list[Any]]]) -> dict[str, Any]:
        batch: dict[int, list[RawRecord]] = {
            int(p): [tuple(r) for r in recs] for p, recs in partitions.items()
        }
        self._state_seconds = 0.0
        started = time.perf_counter()
        result = run_batch(self._udf, batch, self._read_state)
        elapsed = time.perf_counter() - started
        return {
            "outputs": result.outputs,
            "writes": result.writes,
            "failed": {p: [f.offset, f.error] for p, f in result.failed.items()},
            "records": result.records,
            "udf_seconds": elapsed - self._state_seconds,
            "state_seconds": self._state_seconds,
        }

    def _read_state(self, keys: dict[int, list[bytes]]) -> dict[int, list[bytes | None]]:
        started = time.perf_counter()
        values = self._state.call("get", keys=keys)["values"]
        self._state_seconds += time.perf_counter() - started
        return {int(p): v for p, v in values.items()}


def main() -> None:
    configure_logging("udf")
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m executor.udf_host <module>:<attribute>")
    env = PodEnv.from_environ()
    record_start(env.socket_dir, "udf")
    udf = load_udf(sys.argv[1])
    log.info("serving UDF %s (stateful=%s)", sys.argv[1], udf.stateful)
    service = UdfService(udf, sys.argv[1], Client(env.state_socket, "state sidecar", patience=60))
    serve(Server(env.udf_socket, service.handle), "udf host", drain_seconds=60)


if __name__ == "__main__":
    main()
