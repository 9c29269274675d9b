"""Live changes of the deployments list: a deployment created or deleted, by any interface (the
API, the editor, the admin, a command), is announced to the list group once its transaction
commits, so every open list page adds or removes the row without polling.

Model signals are used rather than calls in each service because they catch every way a row
comes and goes, including the admin's and the cascade of a deletion; the announcement waits
for the commit so that a rolled-back creation is never shown. Publishing is best effort: a
Channels layer that cannot be reached must not fail the change itself (the page catches up at
its next reconnect, when it reloads the list).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from topology_editor.models import Deployment

#: The Channels group of every open deployments list (one socket per page: consumers.py).
LIST_GROUP = "deployments.list"
#: The group message type; Channels calls the consumer's ``deployments_changed`` for it.
MESSAGE_TYPE = "deployments.changed"

logger = logging.getLogger(__name__)


def announce(event: str, name: str) -> None:
    """Sends ``{"event": "created"|"deleted", "name": ...}`` to :data:`LIST_GROUP`."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(LIST_GROUP, {"type": MESSAGE_TYPE, "event": event, "name": name})
    except Exception:  # the change is committed; a lost announcement is caught up on reconnect
        logger.warning("could not announce that deployment %s was %s", name, event, exc_info=True)


@receiver(post_save, sender=Deployment, dispatch_uid="list_events.created")
def _created(sender: Any, instance: Deployment, created: bool, **kwargs: Any) -> None:
    if created:
        name = instance.name
        transaction.on_commit(lambda: announce("created", name))


@receiver(post_delete, sender=Deployment, dispatch_uid="list_events.deleted")
def _deleted(sender: Any, instance: Deployment, **kwargs: Any) -> None:
    name = instance.name
    transaction.on_commit(lambda: announce("deleted", name))
