"""Rebalancing an entity by measured load
(``POST /api/deployments/{name}/entities/{entity}/rebalance/load/``): with ``dry_run`` the
preview (each pod's load before and after, the moves, how close to the fewest moves the plan
is), without it the plan applied as one revision (operator role). Even-by-count stays at
``.../rebalance/``."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from topology_editor import partition_rates, roles
from topology_editor.api.concurrency import expected_version, with_etag
from topology_editor.api.serializers.actions import PlannedMoveSerializer, RebalanceResultSerializer
from topology_editor.api.views.base import DeploymentScopedViewSet, change_result
from topology_editor.api.views.deployments import IF_MATCH
from topology_editor.api.views.partitions import valid
from topology_editor.services.load_rebalance import LoadRebalance, rebalance_entity_by_load


class LoadRebalanceSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False, help_text="return the plan (the preview) only")
    removed = serializers.ListField(
        child=serializers.CharField(), default=list, help_text="pods to take out of the entity (scale in)"
    )
    metric = serializers.ChoiceField(
        choices=["records", "bytes"], default="records", help_text="balance records/s or bytes/s (plus lag)"
    )
    window_seconds = serializers.FloatField(
        default=partition_rates.DEFAULT_WINDOW_SECONDS,
        min_value=1,
        max_value=600,
        help_text="the window the rates are measured over",
    )
    target = serializers.FloatField(default=1.10, min_value=1.0, max_value=10.0, help_text="max/avg pod load")
    resource_version = serializers.IntegerField(required=False, min_value=1)


class PartitionLoadSerializer(serializers.Serializer):
    records_per_sec = serializers.FloatField()
    bytes_per_sec = serializers.FloatField()
    lag = serializers.FloatField()
    load = serializers.FloatField(help_text="the rate plus the rate that clears the lag in 5 minutes")


class LoadRebalanceResultSerializer(RebalanceResultSerializer):
    metric = serializers.CharField()
    window_seconds = serializers.FloatField()
    before = serializers.DictField(child=serializers.FloatField(), help_text="each pod's load now")
    after = serializers.DictField(child=serializers.FloatField(), help_text="each pod's load after the moves")
    ratio_before = serializers.FloatField()
    ratio_after = serializers.FloatField()
    target = serializers.FloatField()
    lower_bound = serializers.IntegerField(help_text="no plan reaching the cap moves fewer partitions")
    optimal = serializers.BooleanField(help_text="the moves equal the lower bound")
    achievable = serializers.BooleanField(help_text="false when one partition alone outweighs the target")
    partitions = serializers.DictField(child=PartitionLoadSerializer())


@extend_schema(tags=["partitions"], parameters=[IF_MATCH])
class LoadRebalanceViewSet(DeploymentScopedViewSet):
    action_permissions = {"rebalance_by_load": (roles.REBALANCE,)}

    @extend_schema(request=LoadRebalanceSerializer, responses=LoadRebalanceResultSerializer)
    def rebalance_by_load(self, request: Request, name: str, entity: str) -> Response:
        """Moves the fewest partitions that bring each pod's measured load under ``target``
        times the mean; with ``dry_run`` only previews it (operator role)."""
        body = valid(LoadRebalanceSerializer(data=request.data))
        version = expected_version(request, body.pop("resource_version", None), "resource_version")
        result = rebalance_entity_by_load(name, entity, **body, expected_version=version, **self.origin())
        answer = {**change_result(result.change), **_plan(result, body)}
        return with_etag(Response(answer), result.change.deployment)


def _plan(result: LoadRebalance, body: dict[str, Any]) -> dict[str, Any]:
    plan = result.plan
    moves = [{"partition": m.partition, "from_pod": m.from_pod, "to_pod": m.to_pod} for m in plan.moves]
    partitions = {
        str(p): {
            "records_per_sec": rate.records_per_sec,
            "bytes_per_sec": rate.bytes_per_sec,
            "lag": rate.lag,
            "load": result.loads[p],
        }
        for p, rate in sorted(result.rates.items())
    }
    return {
        "dry_run": result.dry_run,
        "moves": PlannedMoveSerializer(moves, many=True).data,
        "assignment": plan.assignment,
        "metric": body["metric"],
        "window_seconds": body["window_seconds"],
        "before": plan.before,
        "after": plan.after,
        "ratio_before": plan.ratio_before,
        "ratio_after": plan.ratio_after,
        "target": plan.target,
        "lower_bound": plan.lower_bound,
        "optimal": plan.optimal,
        "achievable": plan.achievable,
        "partitions": partitions,
    }
