"""The custom-resource shapes, for the schema and the browsable API's forms.

The classes are built by :func:`shape` because their field names are the resource's camelCase keys.
The spec's shapes are built from its one declaration, :mod:`orchestrator.spec.schema`.
"""

import functools
import typing
from typing import Any

from drf_spectacular.utils import extend_schema_field
from pydantic import BaseModel
from rest_framework import serializers

from orchestrator import API_VERSION, KIND
from orchestrator.spec import schema as spec_schema
from topology_editor.models import DeploymentState


def shape(name: str, fields: dict[str, serializers.Field], doc: str = "") -> type[serializers.Serializer]:
    """A serializer class with these fields, whatever their names (camelCase, keywords)."""
    return type(name, (serializers.Serializer,), {**fields, "__doc__": doc or f"The {name} of a manifest."})


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(**kwargs)


@functools.cache
def declared(model: type[BaseModel]) -> type[serializers.Serializer]:
    """The DRF shape of a model of :mod:`orchestrator.spec.schema`: the API documents the
    spec's one declaration instead of a copy of it (one class per model, named after it)."""
    schema = model.model_json_schema(by_alias=True)
    fields = {
        key: _declared_field(model, key, prop, key in schema.get("required", ()))
        for key, prop in schema["properties"].items()
    }
    return shape(model.__name__, fields, " ".join((model.__doc__ or "").split()))


def _declared_field(
    model: type[BaseModel], key: str, prop: dict[str, Any], required: bool
) -> serializers.Field:
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    kwargs: dict[str, Any] = {
        "required": required,
        "allow_null": len(options) < len(prop.get("anyOf", [prop])),
    }
    if "description" in prop:
        kwargs["help_text"] = prop["description"]
    if not required and not isinstance(prop.get("default"), list | dict | type(None)):
        kwargs = {**kwargs, "default": prop["default"]}
        del kwargs["required"]
    annotation = spec_schema.field(model, key).annotation
    return _typed_field({**options[0], **_without_any_of(prop)}, annotation, **kwargs)


def _without_any_of(prop: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in prop.items() if k not in ("anyOf", "default", "title", "description")}


def _typed_field(prop: dict[str, Any], annotation: Any, **kwargs: Any) -> serializers.Field:
    nested = _declared_model(annotation)
    if nested is not None:
        return declared(nested)(many=prop.get("type") == "array", **kwargs)
    if "oneOf" in prop:
        return _schema_field(prop)(**kwargs)
    if prop.get("type") == "array":
        return serializers.ListField(child=_typed_field(prop["items"], None), **kwargs)
    if "enum" in prop:
        return serializers.ChoiceField(choices=prop["enum"], **kwargs)
    if prop.get("type") == "integer":
        return serializers.IntegerField(
            min_value=prop.get("minimum"), max_value=prop.get("maximum"), **kwargs
        )
    return _text(max_length=prop.get("maxLength"), **kwargs)


def _declared_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``Pod``, ``list[Pod]``, ``Resources | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    found = (_declared_model(arg) for arg in typing.get_args(annotation))
    return next((model for model in found if model is not None), None)


def _schema_field(prop: dict[str, Any]) -> type[serializers.Field]:
    """A field documented by the declaration's own schema (int-or-string: partitions, quantities)."""
    schema = {k: v for k, v in prop.items() if k not in (spec_schema.INT_OR_STRING, "examples")}
    if prop.get("examples"):  # OpenAPI 3.0 has one example, not JSON Schema's list
        schema["example"] = prop["examples"][0]
    return extend_schema_field(schema)(type("DeclaredValue", (serializers.JSONField,), {}))


Pod = declared(spec_schema.Pod)
Entity = declared(spec_schema.StatefulEntity)
PullSecret = declared(spec_schema.ImagePullSecret)
Spec = declared(spec_schema.DeploymentSpec)
Metadata = shape(
    "ObjectMeta",
    {
        "name": _text(),
        "resourceVersion": _text(required=False, help_text="the version a write is based on (as the ETag)"),
        "creationTimestamp": serializers.DateTimeField(read_only=True),
        "annotations": serializers.DictField(child=_text(), read_only=True),
    },
)
Status = shape(
    "DeploymentStatus",
    {
        "state": serializers.ChoiceField(choices=DeploymentState.choices),
        "currentRevision": _text(),
        "nextRevision": _text(),
        "lastUpdateTime": serializers.DateTimeField(allow_null=True),
        "components": serializers.DictField(),
        "conditions": serializers.ListField(child=serializers.DictField()),
        "message": _text(),
        "lastError": _text(),
    },
)
Manifest = shape(
    "InvokerDeployment",
    {
        "apiVersion": serializers.ChoiceField(choices=[API_VERSION]),
        "kind": serializers.ChoiceField(choices=[KIND]),
        "metadata": Metadata(),
        "spec": Spec(),
        "status": Status(read_only=True),
    },
)
