"""Celery tasks."""

import os
import socket

from celery import shared_task


@shared_task(name="jobs.ping")
def ping(token: str) -> dict[str, object]:
    """Echoes a token with the worker's identity: the worker-health probe used by `./dev status` and tests."""
    return {"token": token, "hostname": socket.gethostname(), "pid": os.getpid()}
