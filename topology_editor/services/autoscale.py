"""The autoscaler's settings, recommendations and changes (issue 16, item 2).

Each entity may have an :class:`~topology_editor.models.AutoscalePolicy`. :func:`evaluate`
turns the collector's samples (:func:`topology_editor.partition_rates.history`: the entity's
total lag and records consumed) into a :class:`orchestrator.planning.autoscale.Decision` and keeps it on
the policy as the recommendation, with its evidence. :func:`apply_recommendation` carries it
out: a scale-out is one revision adding the pods and moving the fewest partitions to them
(even by count), a scale-in drains one pod (:mod:`topology_editor.services.drain`), which is
removed once its partitions are taken over. An operator approves a recommendation through the
API (audit action ``autoscale``, which pauses automation like any manual change); the beat task
``jobs.autoscale`` applies it on its own (action ``autoscaler``) only for policies with
``auto`` on, while the deployment's automation is enabled and not paused.
"""

import json
from dataclasses import asdict, replace
from datetime import datetime
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.utils import timezone

from orchestrator import DeploymentSpec, EntitySpec, FieldError, PodSpec
from orchestrator.planning.autoscale import Decision, Policy, Sample, decide
from orchestrator.planning.rebalance import rebalance_entity as plan_even
from topology_editor import partition_rates
from topology_editor.models import AutoscalePolicy, Deployment, Interface
from topology_editor.services.drain import drain_pod
from topology_editor.services.errors import InvalidRequestError, NotFoundError
from topology_editor.services.partitions import _request_checked, _validated
from topology_editor.services.recording import Origin, User, record_audit
from topology_editor.services.saving import Change, locked, save_spec, write_transaction
from topology_editor.spec_rows import spec_from_rows

POLICY_FIELDS = tuple(Policy.__dataclass_fields__)
#: Progress samples kept per entity (at the beat's 10 s, two minutes) and how long they live.
KEPT_SAMPLES = 13
SAMPLES_EXPIRE_SECONDS = 600


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _series_key(name: str, entity: str) -> str:
    return f"invoker:autoscale:{name}:{entity}"


def record_progress(name: str, entity: str, sample: Sample) -> None:
    """Keeps one sample of the entity's progress as the broker sees it (``orchestrator.reconciler.backlog``:
    records committed, backlog), the autoscaler's preferred evidence."""
    key = _series_key(name, entity)
    pipe = _redis().pipeline()
    pipe.lpush(key, json.dumps([sample.time, sample.lag, sample.records]))
    pipe.ltrim(key, 0, KEPT_SAMPLES - 1)
    pipe.expire(key, SAMPLES_EXPIRE_SECONDS)
    pipe.execute()


def progress_samples(name: str, entity: str) -> list[Sample]:
    """The kept broker samples of the entity, oldest first."""
    raw = _redis().lrange(_series_key(name, entity), 0, KEPT_SAMPLES - 1)
    return [Sample(*json.loads(item)) for item in reversed(raw)]


def clear_progress(name: str, entity: str) -> None:
    _redis().delete(_series_key(name, entity))


def policy_of(row: AutoscalePolicy) -> Policy:
    return Policy(**{name: getattr(row, name) for name in POLICY_FIELDS})


def get_policy(name: str, entity: str) -> AutoscalePolicy:
    """The entity's policy (defaults, not stored, when it has none yet)."""
    deployment = _deployment(name, entity)
    row = deployment.autoscale_policies.filter(entity=entity).first()
    return row or AutoscalePolicy(deployment=deployment, entity=entity)


def set_policy(
    name: str, entity: str, settings: dict[str, Any], *, actor: User | None, interface: Interface
) -> AutoscalePolicy:
    """Stores the entity's policy (the fields given; the rest keep their values). Settings that
    make no sense together are refused naming each field, and nothing is stored."""
    with write_transaction():
        deployment = locked(name)
        _require_entity(deployment, entity)
        row = deployment.autoscale_policies.filter(entity=entity).first()
        row = row or AutoscalePolicy(deployment=deployment, entity=entity)
        for key, value in settings.items():
            setattr(row, key, value)
        problems = policy_of(row).problems()
        if problems:
            raise InvalidRequestError(
                [FieldError(field, message, "invalid_value") for field, message in problems]
            )
        row.save()
        shown = ", ".join(f"{key}={value}" for key, value in sorted(settings.items()))
        record_audit(deployment, Origin(actor, interface), "autoscale_policy", f"{entity}: {shown}"[:300], [])
        return row


def entity_samples(name: str, entity: str) -> tuple[list[Sample], str]:
    """The broker's samples of the entity when there are two (:func:`record_progress`), else
    the metrics collector's: total lag (the pods' gauge, which undercounts a backlog sitting in
    the consumer's fetch buffer) and records consumed in each kept collection, oldest first.
    Returned with their source ("broker" or "collector"), the evidence the page shows."""
    from_broker = progress_samples(name, entity)
    if len(from_broker) >= 2:
        return from_broker, "broker"
    samples = []
    for collection in partition_rates.history(name):
        partitions = collection["entities"].get(entity)
        if partitions is None:
            continue
        records = sum(counts[0] for counts in partitions.values())
        lag = sum(max(0.0, counts[2]) for counts in partitions.values())
        samples.append(Sample(collection["time"], lag, records))
    return samples, "collector"


def evaluate(row: AutoscalePolicy, now: float) -> Decision | None:
    """The recommendation for the policy's entity, stored on the policy with its evidence (the
    samples it was made from); None when the entity is gone."""
    spec = spec_from_rows(row.deployment)
    current = spec.entity(row.entity)
    if current is None:
        return None
    samples, source = entity_samples(row.deployment.name, row.entity)
    last = row.last_scaled_at.timestamp() if row.last_scaled_at else None
    decision = decide(policy_of(row), len(current.pods), samples, now, last)
    row.recommendation = {
        **asdict(decision),
        "at": now,
        "samples": [[s.time, s.lag, s.records] for s in samples],
        "source": source,
    }
    row.save(update_fields=["recommendation"])
    return decision


def apply_recommendation(
    name: str,
    entity: str,
    pods: int,
    *,
    action: str,
    actor: User | None,
    interface: Interface,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> Change:
    """Brings ``entity`` to ``pods`` pods: adds them and rebalances as one revision, or drains
    one pod (the one that owns the fewest partitions, the last on a tie) when fewer are wanted."""
    with write_transaction():
        deployment = locked(name, expected_version)
        old = spec_from_rows(deployment)
        current = _require_entity(deployment, entity, old)
        policy = deployment.autoscale_policies.filter(entity=entity).first()
        bounds = policy_of(policy) if policy else Policy()
        if not bounds.min_pods <= pods <= bounds.max_pods:
            message = f"{pods} pod(s) is outside the policy's bounds {bounds.min_pods}-{bounds.max_pods}"
            raise InvalidRequestError([FieldError("pods", message, "out_of_range")])
        have = len(current.pods)
        if pods == have:
            message = f"entity {entity!r} already has {pods} pod(s)"
            raise InvalidRequestError([FieldError("pods", message, "conflict")])
        origin = Origin(actor, interface)
        if pods > have:
            _cooled(policy, now)
            return _scale_out(deployment, old, entity, pods, action, origin)
        # A drained pod owns nothing and goes once its partitions' new owners consume them: it is
        # already leaving, so it is never the one to drain, and it counts as gone.
        owning = [pod for pod in current.pods if pod.partitions]
        if pods >= len(owning):
            message = f"entity {entity!r} is already being drained to {len(owning)} pod(s)"
            raise InvalidRequestError([FieldError("pods", message, "conflict")])
        if pods < len(owning) - 1:
            message = f"scale in one pod at a time: to {len(owning) - 1}, not {pods} (a drain hands over one)"
            raise InvalidRequestError([FieldError("pods", message, "out_of_range")])
    victim = min(reversed(owning), key=lambda pod: len(pod.partitions)).name
    origin = {"actor": actor, "interface": interface, "expected_version": expected_version}
    drained = drain_pod(name, entity, victim, action=action, **origin)
    _cooled(policy, now)  # only once the drain was accepted: a refused one starts no cooldown
    return drained.change


def _cooled(policy: AutoscalePolicy | None, now: datetime | None) -> None:
    """Starts the policy's cooldown (when it has one) from this change."""
    if policy is not None:
        policy.last_scaled_at = now or timezone.now()
        policy.save(update_fields=["last_scaled_at"])


def _scale_out(
    deployment: Deployment, old: DeploymentSpec, entity: str, pods: int, action: str, origin: Origin
) -> Change:
    current = _require_entity(deployment, entity, old)
    taken = {pod.name for pod in current.pods}
    template = current.pods[-1].resources if current.pods else {}
    added, k = [], 0
    while len(current.pods) + len(added) < pods:
        if f"{entity}-{k}" not in taken:
            added.append(PodSpec(f"{entity}-{k}", (), template))
            taken.add(f"{entity}-{k}")
        k += 1
    grown = replace(
        old,
        entities=tuple(replace(e, pods=(*e.pods, *added)) if e.name == entity else e for e in old.entities),
    )
    balanced, plan = _request_checked(plan_even, grown, entity, ())
    summary = (
        f"scaled {entity} out from {len(current.pods)} to {pods} pod(s) "
        f"({', '.join(p.name for p in added)}): {len(plan.moves)} partition(s) moved"
    )
    return save_spec(deployment, old, _validated(balanced), origin=origin, action=action, summary=summary)


def _deployment(name: str, entity: str) -> Deployment:
    deployment = Deployment.objects.filter(name=name).first()
    if deployment is None:
        raise NotFoundError("deployment", name)
    _require_entity(deployment, entity)
    return deployment


def _require_entity(deployment: Deployment, entity: str, spec: DeploymentSpec | None = None) -> EntitySpec:
    spec = spec or spec_from_rows(deployment)
    current = spec.entity(entity)
    if current is None:
        raise NotFoundError("entity", entity, within=f"deployment {deployment.name!r}")
    return current
