"""The Invoker control plane: Django settings, URLs, the ASGI app and the Celery app."""

from invoker_web.celery import app as celery_app

__all__ = ["celery_app"]
