"""Bodies of the action endpoints (move, rebalance, rollback, diff) and their results."""

from rest_framework import serializers

from orchestrator.spec.model import MAX_PARTITION_ID
from topology_editor.api.serializers.manifests import shape


def _version_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, min_value=1, help_text="the resource_version (ETag) this change is based on"
    )


#: The most moves one ``moves/`` request may carry: far more than a Save after dragging sends (a
#: few), while a body of millions is refused with a 400 naming ``moves`` before any is looked up.
MAX_MOVES = 10_000


class PartitionMoveSerializer(serializers.Serializer):
    entity = serializers.CharField()
    partition = serializers.IntegerField(min_value=0, max_value=MAX_PARTITION_ID)
    to_pod = serializers.CharField()


class MovePartitionSerializer(PartitionMoveSerializer):
    resource_version = _version_field()


class MovePartitionsSerializer(serializers.Serializer):
    """Several moves saved as one change (the editor's Save after dragging partitions)."""

    moves = PartitionMoveSerializer(
        many=True, allow_empty=False, max_length=MAX_MOVES, help_text=f"at most {MAX_MOVES} moves"
    )
    resource_version = _version_field()


class RebalanceSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False, help_text="return the plan without applying it")
    removed = serializers.ListField(
        child=serializers.CharField(), default=list, help_text="pods to take out of the entity (scale in)"
    )
    resource_version = _version_field()


class RollbackSerializer(serializers.Serializer):
    resource_version = _version_field()


class SpecChangeSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="e.g. spec.statefulEntities[splitter].pods[splitter-0].partitions")
    change = serializers.ChoiceField(choices=["added", "removed", "changed"])
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class ChangeResultSerializer(serializers.Serializer):
    """What a change did: ``changed`` is false when the spec already said so."""

    changed = serializers.BooleanField()
    revision = serializers.CharField(allow_null=True, help_text="the saved spec's revision")
    resource_version = serializers.IntegerField()
    changes = SpecChangeSerializer(many=True)


class PlannedMoveSerializer(serializers.Serializer):
    partition = serializers.IntegerField()
    from_pod = serializers.CharField(allow_null=True)
    to_pod = serializers.CharField()


class RebalanceResultSerializer(ChangeResultSerializer):
    dry_run = serializers.BooleanField()
    moves = PlannedMoveSerializer(many=True)
    assignment = serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()))


DiffSerializer = shape(
    "Diff",
    {
        "from": serializers.CharField(),
        "to": serializers.CharField(),
        "changes": SpecChangeSerializer(many=True),
    },
    "The structural differences from one revision's spec to another's.",
)


class ImportResultSerializer(ChangeResultSerializer):
    name = serializers.CharField()
    created = serializers.BooleanField()
