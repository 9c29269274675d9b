"""A dry run's field-level changes of one object (orchestrator.spec.field_changes): only the fields
the reconcile sends count, named list items are matched by name, and ConfigMap JSON data is
compared as JSON."""

import json

from orchestrator.spec.field_changes import describe_changes, field_changes


def _config_map(**data: object) -> dict:
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "demo.splitter", "labels": {"app": "demo"}},
        "data": {key: json.dumps(value) for key, value in data.items()},
    }  # fmt: skip


def test_fields_only_the_live_object_has_are_not_changes() -> None:
    desired = _config_map(**{"splitter-0.json": {"partitions": [0, 1]}})
    live = {
        **desired,
        "metadata": {**desired["metadata"], "uid": "u-1", "resourceVersion": "7"},
        "status": {},
    }
    assert field_changes(live, desired) == []


def test_a_changed_partition_list_reads_as_that_and_a_dropped_pod_as_a_removal() -> None:
    live = _config_map(
        **{"splitter-0.json": {"partitions": [0, 1], "epoch": 1}, "splitter-1.json": {"partitions": [2]}}
    )
    desired = _config_map(**{"splitter-0.json": {"partitions": [0, 1, 2], "epoch": 1}})
    assert describe_changes("ConfigMap", "demo.splitter", field_changes(live, desired)) == [
        "ConfigMap demo.splitter: splitter-0.json partitions [0,1] -> [0,1,2]",
        'ConfigMap demo.splitter: splitter-1.json - {"partitions":[2]}',
    ]


def test_containers_are_matched_by_name_and_server_defaults_ignored() -> None:
    def deployment(image: str, extra: dict) -> dict:
        containers = [{"name": "io", "image": "io:1", **extra}, {"name": "udf", "image": image, **extra}]
        return {"kind": "Deployment", "spec": {"template": {"spec": {"containers": containers}}}}

    live = deployment("udf:1", {"terminationMessagePath": "/dev/termination-log"})
    live["spec"]["template"]["spec"]["containers"].reverse()
    changes = field_changes(live, deployment("udf:2", {}))
    assert [c.describe() for c in changes] == ["spec.template.spec.containers[udf].image udf:1 -> udf:2"]


def test_everything_is_new_for_an_object_that_does_not_exist() -> None:
    changes = field_changes(None, _config_map(**{"a.json": {"partitions": [0]}}))
    assert {c.change for c in changes} == {"added"}
    assert "a.json" in [c.path for c in changes]
