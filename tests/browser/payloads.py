"""Metrics payloads as the collector publishes them, for the browser tests of the live pages."""

import time


def payload(name: str, tick: int) -> dict:
    """A collector payload for ``name`` at step ``tick``: three splitter pods whose counters and
    rates grow with ``tick``, so each one extends the charts."""
    pods = [
        {
            "name": f"splitter-{k}", "entity": "splitter", "phase": "Running", "ready": True, "restarts": 0,
            "recordsIn": 1000.0 * tick, "recordsOut": 4000.0 * tick, "bytesIn": 5e4 * tick,
            "bytesOut": 2e4 * tick, "recordsInPerSec": 60.0 + 10 * k + tick,
            "recordsOutPerSec": 240.0 + 5 * tick, "bytesInPerSec": 3000.0 + 100 * tick,
            "bytesOutPerSec": 1200.0 + 50 * k,
        }
        for k in range(3)
    ]  # fmt: skip
    return {
        "deployment": name, "time": time.time() + 2 * tick,
        "status": {
            "state": "Running", "currentRevision": "r1", "nextRevision": None, "message": "",
            "lastError": None, "reconcileCount": 3 + tick,
            "lastReconcile": {
                "result": "success", "durationMs": 30 + 4 * tick, "writes": 2, "finishedAt": None,
            },
        },
        "entities": {"splitter": {"pods": 3}, "totals": {"pods": 1}},
        "pods": pods,
        "lag": {"splitter": {str(p): float(10 * p + tick) for p in range(6)}},
        "reconciles": {"windowSeconds": 300, "count": 5, "perMinute": 1.0 + tick % 3, "p50Ms": 30.0 + tick,
                       "p95Ms": 80.0 + 2 * tick},
    }  # fmt: skip


def many_pods(name: str, tick: int, at: float, entities: int = 4, per_entity: int = 5) -> dict:
    """A collector payload at time ``at`` with ``entities x per_entity`` pods (20 by default)
    whose rates differ, so a chart's top N is well defined: pod k of entity e reads 10*k + e."""
    pods = [
        {
            "name": f"e{e}-{k}", "entity": f"e{e}", "phase": "Running", "ready": True,
            "recordsInPerSec": 10.0 * k + e + tick % 2, "recordsOutPerSec": 1.0,
            "bytesInPerSec": 100.0 * k + e, "bytesOutPerSec": 10.0,
        }
        for e in range(entities)
        for k in range(per_entity)
    ]  # fmt: skip
    return {
        **payload(name, tick), "time": at, "pods": pods,
        "entities": {f"e{e}": {"pods": per_entity} for e in range(entities)},
        "lag": {f"e{e}": {"0": float(e)} for e in range(entities)},
    }  # fmt: skip
