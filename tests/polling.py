"""Polling with a deadline: how every test waits for a condition (never a fixed sleep)."""

import time
from collections.abc import Callable
from typing import Any

#: Seconds a test websocket handshake may take (asgiref's default, 1 s, failed runs on a loaded
#: machine): a bound for a hung consumer, not a speed requirement.
HANDSHAKE_TIMEOUT = 10


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Polls ``condition`` until it returns something truthy; fails naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
