"""Fan-out that holds (issue 18 item 6): 1,000 dashboard websockets on one deployment's metrics.

Run: ./dev bench ws_fanout   (or: python benchmarks/ws_fanout.py [--sockets N] [--frames N] ...)

Starts Uvicorn on a SQLite database of its own (benchmarks/support/server.py) with the real
Redis channel layer (``CHANNELS_REDIS_URL``, else ``REDIS_URL``), signs a viewer in, and opens
``--sockets`` real websockets (the ``websockets`` client, all connecting at once) to one
deployment's live metrics stream. Then ``--frames`` collector-shaped payloads (``--pods`` pods)
are published into the deployment's group every ``--interval`` seconds, as the collector does,
each stamped with the time just before ``group_send``; every socket timestamps what it receives.

Printed per run: sockets opened and the errors (an HTTP status instead of the handshake, or a
socket closed under the run), frames missed, delivery p50/p99/max from publish, and the web
process's CPU (``/proc/PID/stat``) while frames flow, in cores and in microseconds per message
delivered (which a loaded machine does not stretch, unlike the delivery times). The baseline is the same run
with ``--baseline`` sockets (10), measured first in the same invocation. Target: 1,000 sockets,
0 errors, nothing missed, p99 <= 250 ms, the web process under half a core.

The clients run in this process on the same machine, so their own scheduling is part of the
delivery times (the load average is printed). They read only the two fields they time and keep
this process's garbage collector off while frames are timed (see ``stamps`` and ``measure``).
``--server-root DIR`` runs the server from another checkout (``git archive COMMIT | tar -x -C
DIR``) to measure a before/after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from channels_redis.core import RedisChannelLayer
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.support.server import start_server  # noqa: E402
from benchmarks.support.stats import pct  # noqa: E402

DEPLOYMENT = "fanout-bench"
TARGET_P99_MS, TARGET_CORES = 250, 0.5
SETUP = """
from django.contrib.auth.models import Group, User
from django.test import Client
viewer = User.objects.create_user("bench-viewer")
viewer.groups.set([Group.objects.get(name="viewer")])
client = Client()
client.force_login(viewer)
print("SESSION=" + client.cookies["sessionid"].value)
"""


@dataclass
class Run:
    sockets: int
    opened: int = 0
    errors: list[str] = field(default_factory=list)
    delays_ms: list[float] = field(default_factory=list)
    missed: int = 0
    cores: float = 0.0
    cpu_s: float = 0.0
    connect_s: float = 0.0


def payload(seq: int, pods: int) -> dict:
    """A collector payload's shape (jobs/collector.py) for ``pods`` pods of two entities."""
    names = [f"{'splitter' if i % 2 else 'counter'}-{i}" for i in range(pods)]
    return {
        "deployment": DEPLOYMENT, "seq": seq, "time": time.time(),
        "status": {"state": "Running", "revision": "r7", "nextRevision": None, "components": {}},
        "entities": {"splitter": {"pods": pods // 2}, "counter": {"pods": pods - pods // 2}},
        "pods": [
            {"name": name, "entity": name.split("-")[0], "phase": "Running", "restarts": 0, "reason": "",
             "ready": True, "recordsIn": 1234.5, "recordsOut": 2345.6, "bytesIn": 123456, "bytesOut": 234567,
             "partitions": [i, i + pods]}
            for i, name in enumerate(names)
        ],
        "lag": {f"w-{p}": {"partition": p, "lag": 9 * p, "endOffset": 10**5 + p} for p in range(2*pods)},
        "reconciles": {"rate": 0.5, "p50": 42.0, "p95": 120.0},
    }  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def publish_frames(channels_url: str, frames: int, interval: float, pods: int) -> None:
    """The collector's side, in a thread and event loop of its own: one frame every ``interval`` s."""

    async def send_all() -> None:
        layer = RedisChannelLayer(hosts=[{"address": channels_url}])
        start = time.monotonic()
        for seq in range(1, frames + 1):
            await asyncio.sleep(max(0.0, start + (seq - 1) * interval - time.monotonic()))
            message = payload(seq, pods)
            message["sentAt"] = time.time()
            await layer.group_send(f"metrics.{DEPLOYMENT}", {"type": "metrics.update", "payload": message})
        await layer.close_pools()

    asyncio.run(send_all())


#: The two fields a client times, read without parsing the whole frame (below).
SEQ = re.compile(r'"seq":\s*(\d+)')
SENT_AT = re.compile(r'"sentAt":\s*([0-9.e+-]+)')


def stamps(text: str) -> tuple[int, float]:
    """``seq`` and ``sentAt`` of a frame. All the clients share this process and two cores with
    the server, so a client's json.loads of the whole ~7 KB frame (~90 µs) delayed every socket
    read after it: 1,000 of them added ~90 ms to the last receipt of each frame, none of it the
    server's. A browser parses on its own machine."""
    seq, sent_at = SEQ.search(text), SENT_AT.search(text)
    if seq is None or sent_at is None:
        raise ValueError(f"not a benchmark frame: {text[:200]}")
    return int(seq.group(1)), float(sent_at.group(1))


async def listen(socket: ClientConnection, frames: int, received: dict[int, float]) -> str | None:
    """Records each frame's delay until the last one; returns why it stopped early, if it did."""
    try:
        while len(received) < frames:
            text = await socket.recv()
            now = time.time()
            seq, sent_at = stamps(text)
            received[seq] = (now - sent_at) * 1000
    except ConnectionClosed as exc:
        return f"closed {exc.rcvd.code if exc.rcvd else 'without a close frame'}"
    return None


async def measure(url: str, cookie: str, channels_url: str, web_pid: int, sockets: int, args) -> Run:
    run = Run(sockets)
    target = url.replace("http://", "ws://") + f"/ws/deployments/{DEPLOYMENT}/metrics/"
    headers = {"Cookie": f"sessionid={cookie}"}
    started = time.monotonic()
    results = await asyncio.gather(
        *(connect(target, origin=url, additional_headers=headers, open_timeout=120, max_queue=None,
                  compression=None if args.no_deflate else "deflate")
          for _ in range(sockets)),
        return_exceptions=True,
    )  # fmt: skip
    run.connect_s = time.monotonic() - started
    opened = [r for r in results if isinstance(r, ClientConnection)]
    run.opened = len(opened)
    run.errors = [
        f"HTTP {r.response.status_code}" if isinstance(r, InvalidStatus) else type(r).__name__
        for r in results
        if not isinstance(r, ClientConnection)
    ]
    receipts: list[dict[int, float]] = [{} for _ in opened]
    listeners = [
        asyncio.ensure_future(listen(s, args.frames, r)) for s, r in zip(opened, receipts, strict=True)
    ]
    await asyncio.sleep(1.0)  # the handshakes' own work is done before the frames are timed
    # The clients' garbage collector stays out of the timing: the 1,000 connections' objects made
    # a full collection in this process that stalled every socket's read for a frame (that
    # frame's receipts p50 ~390 ms against ~130 ms for the others). A browser has one socket.
    gc.collect()
    gc.disable()
    cpu_before, wall_before = cpu_seconds(web_pid), time.monotonic()
    publisher = threading.Thread(
        target=publish_frames, args=(channels_url, args.frames, args.interval, args.pods), daemon=True
    )
    publisher.start()
    await asyncio.to_thread(publisher.join)
    _, pending = await asyncio.wait(listeners, timeout=10)
    run.cpu_s = cpu_seconds(web_pid) - cpu_before
    run.cores = run.cpu_s / (time.monotonic() - wall_before)
    for task in pending:
        task.cancel()
    run.errors += [
        task.result() for task in listeners if task.done() and not task.cancelled() and task.result()
    ]
    for received in receipts:
        run.delays_ms += received.values()
        run.missed += args.frames - len(received)
    gc.enable()
    await asyncio.gather(*(s.close() for s in opened), return_exceptions=True)
    return run


def report(run: Run) -> str:
    errors = {e: run.errors.count(e) for e in sorted(set(run.errors))}
    delays = run.delays_ms or [float("nan")]
    return (
        f"{run.sockets:>7} {run.opened:>6} {len(run.errors):>6} {run.missed:>6} "
        f"{pct(delays, 50):>8.0f} {pct(delays, 99):>8.0f} {max(delays):>8.0f} {run.cores:>6.2f} "
        f"{run.connect_s:>9.1f} {1e6 * run.cpu_s / max(len(run.delays_ms), 1):>9.0f}  {errors or ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=10, help="sockets of the baseline run")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument(
        "--interval", type=float, default=2.0, help="seconds between frames (the collector's)"
    )
    parser.add_argument("--pods", type=int, default=20)
    parser.add_argument(
        "--no-deflate", action="store_true", help="clients do not offer permessage-deflate (browsers do)"
    )
    parser.add_argument("--server-root", type=Path, default=ROOT, help="run the server from this checkout")
    args = parser.parse_args()
    channels_url = os.environ.get("CHANNELS_REDIS_URL") or os.environ.get(
        "REDIS_URL", "redis://127.0.0.1:16379/0"
    )
    print(f"load average before: {os.getloadavg()}; layer {channels_url}; server {args.server_root}")
    print(
        f"payload: {len(json.dumps(payload(1, args.pods)))} bytes of JSON, "
        f"{args.frames} frames every {args.interval} s"
    )
    with tempfile.TemporaryDirectory(prefix="ws-fanout-") as workdir:
        server = start_server(
            Path(workdir), SETUP, {"CHANNELS_REDIS_URL": channels_url}, root=args.server_root.resolve()
        )
        try:
            cookie = server.setup_output.split("SESSION=", 1)[1].strip()
            runs = [
                asyncio.run(measure(server.url, cookie, channels_url, server.process.pid, n, args))
                for n in (args.baseline, args.sockets)
            ]
        finally:
            server.stop()
    heads = (
        "sockets",
        "opened",
        "errors",
        "missed",
        "p50 ms",
        "p99 ms",
        "max ms",
        "cores",
        "connect s",
        "CPU µs/msg",
    )
    widths = (7, 6, 6, 6, 8, 8, 8, 6, 9, 9)
    print("\n" + " ".join(f"{head:>{width}}" for head, width in zip(heads, widths, strict=True)))
    for run in runs:
        print(report(run))
    base, load = runs
    if base.delays_ms and load.delays_ms:
        print(
            f"\nratio {load.sockets} / {base.sockets} sockets: "
            f"p99 x{pct(load.delays_ms, 99) / pct(base.delays_ms, 99):.1f}"
            f", web CPU x{load.cores / max(base.cores, 1e-3):.1f}"
        )
    met = (
        not load.errors and not load.missed and load.delays_ms and pct(load.delays_ms, 99) <= TARGET_P99_MS
        and load.cores < TARGET_CORES
    )  # fmt: skip
    print(
        f"target (0 errors, 0 missed, p99 <= {TARGET_P99_MS} ms, < {TARGET_CORES} core): "
        + ("met" if met else "NOT met")
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
