"""Removing pods without dropping a partition (issue 16, item 3), for every change that removes
pods: a rebalance's ``removed``, a scale to N, and a whole-spec save (a PUT, a merge patch, an
import) that leaves pods out. Each removed pod that owned partitions stays, owning nothing, until
the partitions' new owners consume them; ``jobs.finish_drain`` then removes it by a second change
(:func:`topology_editor.services.drain.finish_drain`). It imports no other service, so every
service may use it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from functools import partial

from celery import current_app
from django.db import transaction

from orchestrator import DeploymentSpec
from orchestrator.planning.rebalance import Move


def queue_finish_drain(name: str, entity: str, pod: str, moves: list[list[object]], action: str) -> None:
    """Queues ``jobs.finish_drain`` by name (the editor does not import the jobs app above it): it
    removes ``pod`` once the pods in ``moves`` ([partition, to_pod] pairs) consume what it handed."""
    current_app.send_task("jobs.finish_drain", args=[name, entity, pod, moves, action], countdown=1)


def keep_until_taken_over(
    name: str,
    old: DeploymentSpec,
    new: DeploymentSpec,
    entity: str,
    removed: Collection[str],
    moves: Sequence[Move],
    action: str,
) -> DeploymentSpec:
    """A change that removes pods of ``entity`` (a rebalance's ``removed``, a scale to N) made
    safe: ``new`` with each removed pod that owned partitions in ``old`` put back in its place
    owning nothing, so that the change only hands its partitions over; once the change commits,
    ``jobs.finish_drain`` is queued for each such pod and removes it by a second change when the
    new owners consume its partitions (``moves``: the plan's, those from the pod are its). A
    removed pod that owned nothing just goes.

    Call it inside the change's transaction, after planning and before ``save_spec``::

        new = keep_until_taken_over(name, old, balanced, entity, removed, plan.moves, "rebalance")
    """
    before = old.entity(entity)
    after = new.entity(entity)
    if before is None or after is None:
        return new
    leaving = {pod.name: pod for pod in before.pods if pod.name in set(removed) and pod.partitions}
    if not leaving:
        return new
    kept = {pod.name: pod for pod in after.pods}
    pods = [
        kept.pop(p.name, None) or replace(leaving[p.name], partitions=())
        for p in before.pods
        if p.name in kept or p.name in leaving
    ]
    pods += list(kept.values())
    entities = tuple(replace(e, pods=tuple(pods)) if e.name == entity else e for e in new.entities)
    for pod in leaving:
        handed = [[m.partition, m.to_pod] for m in moves if m.from_pod == pod]
        transaction.on_commit(partial(queue_finish_drain, name, entity, pod, handed, action))
    return replace(new, entities=entities)


def hand_over_removed(name: str, old: DeploymentSpec, new: DeploymentSpec, action: str) -> DeploymentSpec:
    """A whole-spec save made safe: in each entity, the pods ``new`` leaves out that owned
    partitions in ``old`` are kept owning nothing until the pods that own those partitions in
    ``new`` consume them (:func:`keep_until_taken_over`)."""
    for entity in new.entities:
        before = old.entity(entity.name)
        if before is None:
            continue
        removed = {pod.name for pod in before.pods} - {pod.name for pod in entity.pods}
        if not removed:
            continue
        owner = {p: pod.name for pod in entity.pods for p in pod.partitions}
        moves = [
            Move(p, pod.name, owner[p])
            for pod in before.pods
            if pod.name in removed
            for p in pod.partitions
            if p in owner
        ]
        new = keep_until_taken_over(name, old, new, entity.name, removed, moves, action)
    return new
