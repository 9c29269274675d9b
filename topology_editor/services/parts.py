"""Changing one part of a spec: a merge patch of the whole, or one entity or pod added,
replaced, patched or removed. Each is an edit of the current manifest stored through
:func:`edit_deployment`, so the whole resulting spec is validated (errors name their full
path, ``spec.statefulEntities[1].pods[0]...``) and recorded like any other change."""

from typing import Any

from orchestrator.spec.merge_patch import merge_patch
from topology_editor.models import Interface
from topology_editor.services.changes import Manifest, edit_deployment
from topology_editor.services.errors import NotFoundError
from topology_editor.services.recording import User
from topology_editor.services.saving import Change


def patch_deployment(
    name: str, patch: object, *, actor: User | None, interface: Interface, expected_version: int | None = None
) -> Change:
    """Applies a JSON merge patch to the manifest of ``name``."""
    return edit_deployment(
        name,
        lambda manifest: merge_patch(manifest, patch),
        actor=actor,
        interface=interface,
        expected_version=expected_version,
        summary="patched the spec",
    )


def add_entity(
    name: str,
    entity: object,
    *,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Change:
    def edit(manifest: Manifest) -> Manifest:
        _entities(manifest).append(entity)
        return manifest

    summary = f"added entity {_name_of(entity)}"
    return edit_deployment(
        name, edit, actor=actor, interface=interface, expected_version=expected_version, summary=summary
    )


def update_entity(
    name: str,
    entity: str,
    body: object,
    *,
    merge: bool = False,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Change:
    """Replaces entity ``entity`` by ``body``, or merge-patches it with ``body``; renaming is allowed."""

    def edit(manifest: Manifest) -> Manifest:
        entities = _entities(manifest)
        i = _index(entities, entity, "entity", f"deployment {name!r}")
        entities[i] = merge_patch(entities[i], body) if merge else body
        return manifest

    return edit_deployment(
        name,
        edit,
        actor=actor,
        interface=interface,
        expected_version=expected_version,
        summary=f"changed entity {entity}",
    )


def remove_entity(
    name: str, entity: str, *, actor: User | None, interface: Interface, expected_version: int | None = None
) -> Change:
    def edit(manifest: Manifest) -> Manifest:
        entities = _entities(manifest)
        del entities[_index(entities, entity, "entity", f"deployment {name!r}")]
        return manifest

    return edit_deployment(
        name,
        edit,
        actor=actor,
        interface=interface,
        expected_version=expected_version,
        summary=f"removed entity {entity}",
    )


def add_pod(
    name: str,
    entity: str,
    pod: object,
    *,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Change:
    def edit(manifest: Manifest) -> Manifest:
        _pods(manifest, name, entity).append(pod)
        return manifest

    return edit_deployment(
        name,
        edit,
        actor=actor,
        interface=interface,
        expected_version=expected_version,
        summary=f"added pod {_name_of(pod)} to entity {entity}",
    )


def update_pod(
    name: str,
    entity: str,
    pod: str,
    body: object,
    *,
    merge: bool = False,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Change:
    """Replaces pod ``pod`` of ``entity`` by ``body``, or merge-patches it with ``body``."""

    def edit(manifest: Manifest) -> Manifest:
        pods = _pods(manifest, name, entity)
        i = _index(pods, pod, "pod", f"entity {entity!r}")
        pods[i] = merge_patch(pods[i], body) if merge else body
        return manifest

    return edit_deployment(
        name,
        edit,
        actor=actor,
        interface=interface,
        expected_version=expected_version,
        summary=f"changed pod {pod} of entity {entity}",
    )


def remove_pod(
    name: str,
    entity: str,
    pod: str,
    *,
    actor: User | None,
    interface: Interface,
    expected_version: int | None = None,
) -> Change:
    def edit(manifest: Manifest) -> Manifest:
        pods = _pods(manifest, name, entity)
        del pods[_index(pods, pod, "pod", f"entity {entity!r}")]
        return manifest

    return edit_deployment(
        name,
        edit,
        actor=actor,
        interface=interface,
        expected_version=expected_version,
        summary=f"removed pod {pod} from entity {entity}",
    )


def _entities(manifest: Manifest) -> list[Any]:
    return manifest["spec"]["statefulEntities"]


def _pods(manifest: Manifest, name: str, entity: str) -> list[Any]:
    entities = _entities(manifest)
    return entities[_index(entities, entity, "entity", f"deployment {name!r}")]["pods"]


def _index(items: list[Any], name: str, kind: str, within: str) -> int:
    for i, item in enumerate(items):
        if item["name"] == name:
            return i
    raise NotFoundError(kind, name, within=within)


def _name_of(part: object) -> str:
    name = part.get("name") if isinstance(part, dict) else None
    return name if isinstance(name, str) else "(unnamed)"
