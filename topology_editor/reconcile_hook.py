"""The one place where a saved change asks for a reconcile.

Services call :func:`request_reconcile` through ``transaction.on_commit``, so it runs only for
a change that was committed: never for a rejected change or a save that changed nothing.

The editor does not import the app that runs reconciles: ``jobs`` sits above it (it reads the
editor's models) and registers its handler here in ``JobsConfig.ready()``, which queues the
Celery reconcile (bursts of saves coalesce into one pass, see ``jobs.coalesce``). So the
imports only go one way (README, "Layers") and a save still reaches the worker.
"""

import logging
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

Handler = Callable[[str, str], object]
_handlers: list[Handler] = []


def register(handler: Handler) -> None:
    """Makes ``handler(deployment_name, reason)`` the one that serves reconcile requests."""
    _handlers[:] = [handler]


def request_reconcile(deployment_name: str, reason: str) -> None:
    """Asks for a reconcile of ``deployment_name``; ``reason`` says which change caused it."""
    if not _handlers:
        # Loud: a save whose reconcile silently went nowhere would look applied and never run.
        raise ImproperlyConfigured(
            "no reconcile handler is registered: 'jobs' must be in INSTALLED_APPS (it registers one "
            "in JobsConfig.ready())"
        )
    logger.info("reconcile requested for %s: %s", deployment_name, reason)
    _handlers[0](deployment_name, reason)
