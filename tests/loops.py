"""Running work from a test in a thread of its own, whatever event loop the session already runs.

The browser tests' Playwright (sync API) keeps an event loop running in the main thread for the
whole session; there ``asyncio.run`` and ``async_to_sync`` refuse to start, so a test that runs
after a browser test and needs either hands the work to a fresh thread.
"""

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def in_own_thread(work: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
    """``work(*args)`` in a new thread; its result, or its exception raised here."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work, *args).result(timeout=timeout)


def run_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """``asyncio.run(coroutine)`` in a thread of its own."""
    return in_own_thread(asyncio.run, coroutine)
