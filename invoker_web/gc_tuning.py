"""The web server's garbage collector, tuned for many long-lived sockets (issue 18 item 6).

Every open dashboard keeps a consumer, its tasks and its connection state alive, and Python's
full collection walks every tracked object: with 1,000 sockets open that was ~325,000 objects and
220-260 ms with the event loop stopped, so the frame being fanned out at that moment reached its
last sockets a quarter of a second late (benchmarks/ws_fanout.py: p99 346-370 ms, against
166-188 ms with the collector tuned; the web process's CPU per message fell from ~200 to ~155 µs).

Two changes, both the interpreter's own (``gc``): the objects that exist once the application is
loaded (Django, the modules, the URL and route tables) are frozen out of every collection, as
they live as long as the process; and the young generation is collected every 20,000 container
allocations instead of 700, so the many short-lived objects of a fan-out are freed by reference
counting before a collection ever looks at them, and full collections become rare. Cycles are
still collected, only later. ``INVOKER_GC_THRESHOLDS`` sets the three thresholds (checked when
the settings load). It is done at the server's start (the ASGI lifespan), not on import, so a
process that only imports the application (a test, a command) keeps the interpreter's defaults.
"""

import gc
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: gc.set_threshold's three values: young collections, then how many of each before the next.
DEFAULT_THRESHOLDS = "20000,20,50"


def parse_thresholds(raw: str) -> tuple[int, int, int]:
    """``"20000,20,50"`` as three integers, each at least 1 (a young threshold of 0 would turn the
    collector off, which leaks every reference cycle)."""
    parts = [part.strip() for part in raw.split(",")]
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 1:
        raise ImproperlyConfigured(
            f"INVOKER_GC_THRESHOLDS must be three positive integers like {DEFAULT_THRESHOLDS!r}, got {raw!r}"
        )
    return values  # type: ignore[return-value]


def tune(thresholds: tuple[int, int, int]) -> None:
    """Freezes what exists now and sets the thresholds; call once the application is loaded."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI lifespan protocol: tunes the collector at the server's start."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            tune(settings.INVOKER_GC_THRESHOLDS)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
