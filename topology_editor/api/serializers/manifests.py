"""The custom-resource shapes, for the schema and the browsable API's forms.

The classes are built by :func:`shape` because their field names are the resource's camelCase keys.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orchestrator import API_VERSION, KIND
from orchestrator.spec import IMAGE_PULL_POLICIES, MAX_HISTORY_LIMIT
from topology_editor.models import DeploymentState


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^(0|[1-9][0-9]*)$"}]}
)
class PartitionField(serializers.Field):
    """A partition id: an integer, or its decimal digits as a string."""

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            section: {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "example": {"cpu": "250m"},
            }
            for section in ("requests", "limits")
        },
        "additionalProperties": False,
    }
)
class ResourcesField(serializers.DictField):
    """Kubernetes requests and limits: ``{"requests": {"cpu": "250m", "memory": "64Mi"}}``."""


def shape(name: str, fields: dict[str, serializers.Field], doc: str = "") -> type[serializers.Serializer]:
    """A serializer class with these fields, whatever their names (camelCase, keywords)."""
    return type(name, (serializers.Serializer,), {**fields, "__doc__": doc or f"The {name} of a manifest."})


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(**kwargs)


Pod = shape(
    "Pod",
    {
        "name": _text(help_text="DNS label, unique in the deployment"),
        "partitions": serializers.ListField(child=PartitionField(), required=False),
        "resources": ResourcesField(required=False),
    },
)
Entity = shape(
    "StatefulEntity",
    {
        "name": _text(help_text="DNS label, unique in the deployment"),
        "executorImage": _text(help_text="the user's UDF image"),
        "ioImage": _text(required=False),
        "stateImage": _text(required=False),
        "ioAddress": _text(help_text="Kafka bootstrap servers, host:port[,host:port...]"),
        "inputTopic": _text(),
        "outputTopic": _text(),
        "inputPartitions": serializers.IntegerField(required=False, allow_null=True, min_value=1),
        "pods": Pod(many=True),
    },
)
PullSecret = shape("ImagePullSecret", {"name": _text()})
Spec = shape(
    "DeploymentSpec",
    {
        "version": _text(required=False),
        "imagePullPolicy": serializers.ChoiceField(choices=IMAGE_PULL_POLICIES, required=False),
        "imagePullSecrets": PullSecret(many=True, required=False),
        "historyLimit": serializers.IntegerField(required=False, min_value=1, max_value=MAX_HISTORY_LIMIT),
        "statefulEntities": Entity(many=True),
    },
)
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
