"""Presence in the editor (issue 14 item 8): who has a deployment open, who is editing it (has
unsaved edits), and a save announced at once to every open editor, over the metrics socket the
page already has (:mod:`topology_editor.consumers`), never polled.

An editor tab says ``{"type": "presence", "editing": bool}`` when its socket opens and whenever
that changes; only then does the socket join the deployment's presence group, so the metrics page
and the list are never counted. Who is present is kept in Redis (``REDIS_URL``), not in a
process: one sorted set per deployment scores each socket's channel by when its entry expires,
and a hash holds the user and the editing flag. Each open socket refreshes its entry every third
of :func:`ttl_seconds` and prunes the expired ones, announcing the change, so a tab whose server
died (no disconnect ever ran) disappears within the TTL; a closed tab leaves at once. Only users
who may change deployments count as editing, whatever their tab claims.

Saves are announced from a model signal on :class:`Deployment` once the transaction commits, as
:mod:`topology_editor.list_events` does for the list, so every interface (the editor, the API,
a command, a rollback) is covered; publishing is best effort and never fails the save.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from topology_editor.models import AuditEntry, Deployment
from topology_editor.roles import CHANGE

#: Group message types; Channels calls the consumer's ``presence_changed`` and ``presence_saved``.
CHANGED = "presence.changed"
SAVED = "presence.saved"

logger = logging.getLogger(__name__)


def presence_group(deployment: str) -> str:
    """The group of the editor tabs open on ``deployment`` (not of every metrics socket)."""
    return f"presence.{deployment}"


def ttl_seconds() -> float:
    """How long an entry lives without a refresh: ``INVOKER_PRESENCE_TTL_SECONDS``, 30 s by default."""
    return float(settings.INVOKER_PRESENCE_TTL_SECONDS)


@dataclass(frozen=True)
class Member:
    channel: str
    user: str
    editing: bool


def _keys(deployment: str) -> tuple[str, str]:
    return f"invoker:presence:{deployment}", f"invoker:presence:{deployment}:who"


def _redis() -> aioredis.Redis:
    """A client per operation: consumers and tests run on different event loops, and presence
    writes are rare (a join, a change of editing, a refresh every few seconds per tab)."""
    return aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)


async def enter(deployment: str, member: Member, ttl: float | None = None) -> None:
    """Adds or refreshes ``member``'s entry, to expire ``ttl`` seconds from now."""
    ttl = ttl_seconds() if ttl is None else ttl
    scores, who = _keys(deployment)
    async with _redis() as client, client.pipeline(transaction=True) as pipe:
        pipe.zadd(scores, {member.channel: time.time() + ttl})
        pipe.hset(who, member.channel, json.dumps({"user": member.user, "editing": member.editing}))
        # The keys themselves go too once no socket refreshes them (every server gone).
        pipe.expire(scores, int(ttl) + 1)
        pipe.expire(who, int(ttl) + 1)
        await pipe.execute()


async def leave(deployment: str, channel: str) -> None:
    scores, who = _keys(deployment)
    async with _redis() as client, client.pipeline(transaction=True) as pipe:
        pipe.zrem(scores, channel)
        pipe.hdel(who, channel)
        await pipe.execute()


async def members(deployment: str) -> tuple[list[Member], bool]:
    """Who is present now, and whether expired entries were pruned on the way."""
    scores, who = _keys(deployment)
    async with _redis() as client:
        expired = await client.zrangebyscore(scores, "-inf", time.time())
        if expired:
            async with client.pipeline(transaction=True) as pipe:
                pipe.zrem(scores, *expired)
                pipe.hdel(who, *expired)
                await pipe.execute()
        live = {channel.decode() for channel in await client.zrange(scores, 0, -1)}
        entries = await client.hgetall(who)
    found = []
    for channel, raw in entries.items():
        if channel.decode() in live:
            entry = json.loads(raw)
            found.append(Member(channel.decode(), str(entry["user"]), bool(entry["editing"])))
    return sorted(found, key=lambda m: (m.user, m.channel)), bool(expired)


def others(members: list[dict[str, Any]], own_channel: str) -> list[dict[str, Any]]:
    """What one tab is shown: everyone but itself, each user once, editing if any tab of theirs is."""
    by_user: dict[str, bool] = {}
    for member in members:
        if member["channel"] != own_channel:
            by_user[member["user"]] = by_user.get(member["user"], False) or member["editing"]
    return [{"user": user, "editing": editing} for user, editing in sorted(by_user.items())]


class PresenceMixin:
    """The presence part of the deployment's metrics socket (``DeploymentMetricsConsumer``).

    Expects a Channels JSON websocket consumer with ``_error`` (the socket's error message),
    ``_refusal`` and ``_current_user`` (the per-message check of the session).
    """

    presence_deployment: str | None = None

    async def presence_receive(self, text_data: str) -> bool:
        """Handles a ``{"type": "presence", ...}`` message; False for anything else (which the
        socket then answers as it always did)."""
        name = self.scope.get("url_route", {}).get("kwargs", {}).get("name")
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            return False
        if not name or not isinstance(content, dict) or content.get("type") != "presence":
            return False
        editing = content.get("editing")
        if not isinstance(editing, bool):
            await self._error("bad_presence", '"editing" must be true or false')
            return True
        await self._presence_enter(name, editing)
        return True

    async def _presence_enter(self, name: str, editing: bool) -> None:
        if self.presence_deployment is None:
            user = self.scope["user"]
            self.presence_deployment = name
            self.presence_user = user.get_username()
            self.presence_may_edit = await database_sync_to_async(user.has_perm)(CHANGE)
            await self.channel_layer.group_add(presence_group(name), self.channel_name)
            self.presence_refresher = asyncio.create_task(self._presence_refresh())
        self.presence_editing = editing and self.presence_may_edit
        await enter(name, self._presence_member())
        await self._presence_broadcast()

    def _presence_member(self) -> Member:
        return Member(self.channel_name, self.presence_user, self.presence_editing)

    async def _presence_broadcast(self) -> None:
        found, _ = await members(self.presence_deployment)
        event = {"type": CHANGED, "members": [vars(m) for m in found]}
        await self.channel_layer.group_send(presence_group(self.presence_deployment), event)

    async def _presence_refresh(self) -> None:
        """Keeps this socket's entry alive, and announces the entries that expired (tabs whose
        server died), so no one waits for a page load to see them go."""
        while True:
            await asyncio.sleep(ttl_seconds() / 3)
            try:
                await enter(self.presence_deployment, self._presence_member())
                _, pruned = await members(self.presence_deployment)
                if pruned:
                    await self._presence_broadcast()
            except Exception:  # Redis away for a moment: the next round tries again
                logger.warning("could not refresh presence on %s", self.presence_deployment, exc_info=True)

    async def presence_leave(self) -> None:
        """On disconnect: out of the group and of Redis at once, and the others told."""
        if self.presence_deployment is None:
            return
        self.presence_refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.presence_refresher
        group = presence_group(self.presence_deployment)
        await self.channel_layer.group_discard(group, self.channel_name)
        await leave(self.presence_deployment, self.channel_name)
        await self._presence_broadcast()

    async def presence_changed(self, event: dict[str, Any]) -> None:
        """Handler for ``presence.changed``: this tab's view of who else is there."""
        if await self._presence_still_allowed():
            others_here = others(event["members"], self.channel_name)
            await self.send_json({"type": "presence", "others": others_here})

    async def presence_saved(self, event: dict[str, Any]) -> None:
        """Handler for ``presence.saved``: someone saved; the page loads or offers a merge."""
        if await self._presence_still_allowed():
            saved = {key: event[key] for key in ("version", "revision", "by")}
            await self.send_json({"type": "saved", **saved})

    async def _presence_still_allowed(self) -> bool:
        refusal = await self._refusal(await self._current_user())
        if refusal:
            await self.close(code=refusal)
        return not refusal


# --- Saves, announced ----------------------------------------------------------------------------


def announce_saved(name: str, version: int) -> None:
    """Sends ``{"version", "revision", "by"}`` of ``name``'s latest save to its editor tabs."""
    layer = get_channel_layer()
    if layer is None:
        return
    latest = AuditEntry.objects.filter(deployment__name=name).order_by("-created_at", "-id").first()
    event = {
        "type": SAVED,
        "version": version,
        "revision": latest.revision if latest else "",
        "by": latest.actor_name if latest else "",
    }
    try:
        async_to_sync(layer.group_send)(presence_group(name), event)
    except Exception:  # the save is committed; an open editor still gets a 412 on its own save
        logger.warning("could not announce the save of %s", name, exc_info=True)


@receiver(post_save, sender=Deployment, dispatch_uid="presence.saved")
def _saved(
    sender: Any, instance: Deployment, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    # Saves of other fields only (automation's switch) leave the spec and its version alone.
    if created or (update_fields is not None and "resource_version" not in update_fields):
        return
    name, version = instance.name, instance.resource_version
    transaction.on_commit(lambda: announce_saved(name, version))
