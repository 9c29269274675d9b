"""Canarying a new UDF image on chosen pods of an entity (issue 16, item 5).

A pod may carry its own ``executorImage`` (``PodSpec.executor_image``), which overrides its
entity's for that pod only; the canary is the set of pods whose override differs from the
entity's image. Everything here is a pure edit of a spec, one revision per step:

- :func:`start_canary`: the chosen pods run ``image``, the others keep the entity's image. At
  least one pod must stay on the current image (the canary is compared with it), and a canary
  already running with another image must be promoted or aborted first.
- :func:`promote_step`: one more pod runs the canary image (pods in spec order), so a bad image
  never replaces more than one pod at a time; once every pod runs it, the last step makes it the
  entity's image and drops the overrides (no pod restarts: each pod's image is unchanged).
- :func:`abort_canary`: every pod back on the entity's image.

Partitions never move: each canary pod keeps its partitions, so totals stay exact throughout
(a pod replaced by a new image resumes from its committed offsets, as after any restart).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from orchestrator.planning.rebalance import _find_entity, _with_entity
from orchestrator.spec.model import DeploymentSpec, EntitySpec, PodSpec, SpecError


@dataclass(frozen=True)
class Canary:
    """A running canary: the image on trial, the pods running it and the pods that do not."""

    entity: str
    image: str
    current_image: str
    canary_pods: tuple[str, ...]
    stable_pods: tuple[str, ...]


def canary_of(entity: EntitySpec) -> Canary | None:
    """The canary running on ``entity``, or None when every pod runs the entity's image."""
    trial = [pod for pod in entity.pods if pod.executor_image not in (None, entity.executor_image)]
    if not trial:
        return None
    stable = tuple(pod.name for pod in entity.pods if pod not in trial)
    return Canary(entity.name, trial[0].executor_image or "", entity.executor_image, _names(trial), stable)


def start_canary(spec: DeploymentSpec, entity: str, pods: Collection[str], image: str) -> DeploymentSpec:
    """``spec`` with ``pods`` of ``entity`` running ``image``. :class:`SpecError` at ``entity`` or
    ``pods`` (``not_found``), ``image`` (``invalid_value``: it is the current image) or ``pods``
    (``conflict``: none chosen, all chosen, or another canary is running)."""
    current = _find_entity(spec, entity)
    names = [pod.name for pod in current.pods]
    unknown = sorted(set(pods) - set(names))
    if unknown:
        raise SpecError.single(
            "pods", f"no pod {', '.join(map(repr, unknown))} in entity {entity!r}", "not_found"
        )
    if image == current.executor_image:
        raise SpecError.single(
            "image", f"{image!r} is already the image of entity {entity!r}", "invalid_value"
        )
    if not pods or set(names) <= set(pods):
        message = "choose some pods but not all: the canary is compared with pods on the current image"
        raise SpecError.single("pods", message, "conflict")
    running = canary_of(current)
    if running is not None and running.image != image:
        pods_on_it = ", ".join(running.canary_pods)
        message = f"a canary of {running.image!r} runs on {pods_on_it}: promote or abort it first"
        raise SpecError.single("pods", message, "conflict")
    chosen = set(pods)
    return _with_pods(
        spec, current, lambda pod: replace(pod, executor_image=image) if pod.name in chosen else pod
    )


def promote_step(spec: DeploymentSpec, entity: str) -> tuple[DeploymentSpec, str | None]:
    """``spec`` one step further: the next pod (spec order) on the canary image, named in the
    result; or, once every pod runs it, the image made the entity's (the result names no pod).
    :class:`SpecError` at ``entity`` (``conflict``) when no canary runs."""
    current = _running(spec, entity)
    canary = canary_of(current)
    assert canary is not None
    if canary.stable_pods:
        nxt = canary.stable_pods[0]
        return _with_pods(
            spec, current, lambda pod: replace(pod, executor_image=canary.image) if pod.name == nxt else pod
        ), nxt
    promoted = replace(current, executor_image=canary.image)
    return _with_pods(spec, promoted, lambda pod: replace(pod, executor_image=None)), None


def abort_canary(spec: DeploymentSpec, entity: str) -> DeploymentSpec:
    """``spec`` with every pod of ``entity`` back on the entity's image; ``conflict`` at ``entity``
    when no canary runs."""
    current = _running(spec, entity)
    return _with_pods(spec, current, lambda pod: replace(pod, executor_image=None))


def _running(spec: DeploymentSpec, entity: str) -> EntitySpec:
    current = _find_entity(spec, entity)
    if canary_of(current) is None:
        raise SpecError.single("entity", f"no canary runs on entity {entity!r}", "conflict")
    return current


def _with_pods(spec: DeploymentSpec, entity: EntitySpec, edit) -> DeploymentSpec:  # type: ignore[no-untyped-def]
    return _with_entity(spec, replace(entity, pods=tuple(edit(pod) for pod in entity.pods)))


def _names(pods: list[PodSpec]) -> tuple[str, ...]:
    return tuple(pod.name for pod in pods)
