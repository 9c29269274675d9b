"""The chart's executor-pod placement values become the orchestrator's placement settings
(orchestrator/planning/placement.py), on every process that reconciles."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.planning.placement import Placement
from tests.chart.test_render import app_containers, env_of

TOLERATION = {"key": "invoker.dev/node", "operator": "Equal", "value": "real", "effect": "NoSchedule"}
VARIABLES = ("INVOKER_POD_NODE_SELECTOR", "INVOKER_POD_TOLERATIONS")


def test_the_placement_values_reach_the_orchestrator_as_its_settings(helm, tmp_path: Path) -> None:
    values = tmp_path / "placement.yaml"
    placement = {
        "orchestrator": {"podNodeSelector": {"invoker.dev/node": "real"}, "podTolerations": [TOLERATION]}
    }
    values.write_text(json.dumps(placement))  # JSON is YAML
    containers = app_containers(helm.template(values))
    assert {"worker", "reconciler"} <= containers.keys()
    for component, container in containers.items():
        env = {name: item["value"] for name, item in env_of(container).items() if name in VARIABLES}
        assert Placement.from_environ(env) == Placement({"invoker.dev/node": "real"}, (TOLERATION,)), (
            component
        )


def test_by_default_the_chart_sets_no_placement(helm) -> None:
    for container in app_containers(helm.template(None)).values():
        assert not set(env_of(container)) & set(VARIABLES)
