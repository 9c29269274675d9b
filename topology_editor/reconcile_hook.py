"""The one place where a saved change asks for a reconcile.

Services call :func:`request_reconcile` through ``transaction.on_commit``, so it runs only for
a change that was committed: never for a rejected change or a save that changed nothing. It
queues the Celery reconcile (bursts of saves coalesce into one pass, see ``jobs.coalesce``).
"""

import logging

logger = logging.getLogger(__name__)


def request_reconcile(deployment_name: str, reason: str) -> None:
    """Asks for a reconcile of ``deployment_name``; ``reason`` says which change caused it."""
    # Imported here: jobs imports this app's models, so a module-level import would be circular.
    from jobs.tasks import request_reconcile as enqueue

    logger.info("reconcile requested for %s: %s", deployment_name, reason)
    enqueue(deployment_name, reason)
