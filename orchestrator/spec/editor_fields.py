"""The topology editor's field list and defaults, from the spec's one declaration
(:mod:`orchestrator.spec.schema`), served to the page as JSON (``GET /api/spec-schema/``) so
that the page keeps no copy of them in JavaScript."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from orchestrator.spec.schema import (
    DeploymentSpec,
    Pod,
    ResourceAmounts,
    Resources,
    StatefulEntity,
    field,
    keys,
)


@cache
def editor_fields() -> dict[str, Any]:
    """What the topology editor shows and fills in, served with the editor page (a JSON data
    block) and as ``GET /api/spec-schema/``, so that its field list and defaults are not a copy
    in JavaScript. Built once (the declaration does not change while the process runs); callers
    only serialise it."""
    return {
        "deployment": _form(DeploymentSpec, skip=("statefulEntities",)),
        "entity": _form(StatefulEntity, skip=("pods",)),
        "pod": _form(Pod, skip=("resources", "executorImage")),  # a canary's, set by its own actions
        "resources": {"sections": keys(Resources), "names": keys(ResourceAmounts)},
        "newEntity": new_entity(),
    }


def new_entity() -> dict[str, Any]:
    """The settings of an entity added in the editor: each field's default, or its first example."""
    template = {}
    for key in keys(StatefulEntity):
        info = field(StatefulEntity, key)
        if not info.is_required() and info.default is not None:
            template[key] = info.default
        elif info.examples:
            template[key] = info.examples[0]
    return template


def _form(model: type[BaseModel], skip: tuple[str, ...]) -> list[dict[str, Any]]:
    properties = model.model_json_schema(by_alias=True)["properties"]
    return [_form_field(model, key, properties[key]) for key in keys(model) if key not in skip]


def _form_field(model: type[BaseModel], key: str, prop: dict[str, Any]) -> dict[str, Any]:
    info = field(model, key)
    value = next((p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"), prop)
    entry = {
        "key": key,
        "label": info.title,
        "type": value.get("type", "string"),
        "required": info.is_required(),
    }
    entry["default"] = None if info.is_required() else info.get_default(call_default_factory=True)
    optional = {
        "choices": value.get("enum"),
        "minimum": value.get("minimum"),
        "maximum": value.get("maximum"),
    }
    optional["help"] = info.description
    return {**entry, **{name: given for name, given in optional.items() if given is not None}}
