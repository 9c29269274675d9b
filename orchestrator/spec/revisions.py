"""Revision names and the differences between revisions.

A revision is named after its deployment and a hash of the *meaning* of its spec, so that
saving the same desired state twice, however it was written, creates no new revision:

- the spec is first put in canonical form (:func:`orchestrator.spec.model.to_manifest`: defaults
  spelled out, partitions as sorted integers, so ``["1", "0"]`` equals ``[0, 1]``);
- entities, pods and image pull secrets are ordered by name: Kubernetes objects and
  ``<pod>.json`` keys are addressed by name, so their order in the list changes nothing;
- resource quantities are compared by value: ``500m`` and ``0.5`` CPU, or ``1Gi`` and
  ``1024Mi``, are the same request (the API server stores both the same way);
- JSON with sorted keys is hashed with SHA-256, of which 10 hex digits (40 bits) are kept,
  as Kubernetes does for its ``pod-template-hash``.

Everything else is a real change and gives a new name, including ``historyLimit`` and
``version``: a revision is a snapshot of the whole spec, and rolling back restores all of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from orchestrator.spec.model import DeploymentSpec, to_manifest
from orchestrator.spec.resources import normalised_resources

REVISION_HASH_LENGTH = 10


def revision_name(spec: DeploymentSpec) -> str:
    """``<deployment>-<10 hex digits>``, the same for every spelling of the same spec."""
    canonical = json.dumps(canonical_spec(spec), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{spec.name}-{digest[:REVISION_HASH_LENGTH]}"


def canonical_spec(spec: DeploymentSpec) -> dict[str, Any]:
    """The ``spec`` part of the manifest, normalised as described in the module docstring."""
    body = to_manifest(spec)["spec"]
    body["imagePullSecrets"] = _by_name(body["imagePullSecrets"])
    body["statefulEntities"] = _by_name(_canonical_entity(entity) for entity in body["statefulEntities"])
    return body


def _canonical_entity(entity: dict[str, Any]) -> dict[str, Any]:
    pods = ({**pod, "resources": normalised_resources(pod["resources"])} for pod in entity["pods"])
    return {**entity, "pods": _by_name(pods)}


def _by_name(items: Any) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: item["name"])


class SpecChange(TypedDict):
    """One difference between two manifests; JSON-ready.

    ``path`` is dotted like ``spec.statefulEntities[splitter].pods[splitter-0].partitions``:
    in a diff, brackets select the list item *named* so, never a position. ``old`` is
    ``None`` for an addition and ``new`` for a removal.
    """

    path: str
    change: Literal["added", "removed", "changed"]
    old: Any
    new: Any


def diff_specs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[SpecChange]:
    """The structural differences from manifest ``old`` to manifest ``new``.

    Lists of named items (entities, pods, pull secrets) are matched by name, so removing the
    first entity reads as one removal rather than a change of every later one; other lists
    (partitions) and scalars are compared whole. Pass canonical manifests
    (:func:`orchestrator.spec.model.to_manifest`), as stored revisions are, so that notation such
    as ``"0"`` versus ``0`` does not show up as a change.
    """
    changes: list[SpecChange] = []
    _diff(old, new, "", changes)
    return changes


def _diff(old: Any, new: Any, path: str, changes: list[SpecChange]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        _diff_pairs(_pairs(old), _pairs(new), path, ".", changes)
    elif _is_named_list(old) and _is_named_list(new):
        _diff_pairs(_named(old), _named(new), path, "[]", changes)
    elif old != new or type(old) is not type(new):
        changes.append(SpecChange(path=path, change="changed", old=old, new=new))


def _diff_pairs(
    old: dict[str, Any], new: dict[str, Any], path: str, style: str, changes: list[SpecChange]
) -> None:
    for key, value in old.items():
        child = _child(path, key, style)
        if key in new:
            _diff(value, new[key], child, changes)
        else:
            changes.append(SpecChange(path=child, change="removed", old=value, new=None))
    for key, value in new.items():
        if key not in old:
            changes.append(SpecChange(path=_child(path, key, style), change="added", old=None, new=value))


def _child(path: str, key: str, style: str) -> str:
    if style == "[]":
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _pairs(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(key): value for key, value in mapping.items()}


def _is_named_list(value: object) -> bool:
    if not isinstance(value, list) or (value and not isinstance(value[0], Mapping)):
        return False  # the second test spares a walk of 100,000 partition numbers
    names = [item.get("name") if isinstance(item, Mapping) else None for item in value]
    return all(isinstance(name, str) for name in names) and len(set(names)) == len(names)


def _named(items: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {item["name"]: item for item in items}
