"""The size limits from the settings (``INVOKER_MAX_*``) apply to every change, through every
interface, and never to reading what is stored."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from orchestrator import SpecError
from tests.topology.conftest import EXAMPLE_NAME, EXAMPLE_PATH
from tests.topology.helpers import deployment_url, error
from topology_editor import services
from topology_editor.models import Interface
from topology_editor.services.limits import spec_limits

ROOT = Path(__file__).resolve().parents[3]
#: The example's splitter has three pods: one more is over this limit.
THREE_PODS_PER_ENTITY = {
    "max_entities": None,
    "max_pods_per_entity": 3,
    "max_pods": None,
    "max_partitions_per_pod": None,
}
PODS = "spec.statefulEntities[0].pods"


@override_settings(INVOKER_SPEC_LIMITS=THREE_PODS_PER_ENTITY)
def test_adding_a_pod_over_the_limit_is_refused_naming_it(api, example):
    response = api("editor").post(
        deployment_url(EXAMPLE_NAME, "entities", "splitter", "pods"), {"name": "splitter-3"}, format="json"
    )
    assert error(response) == (400, "invalid_spec", [(PODS, "too_many")])
    assert "has 4 pods; the limit is 3 pods per entity" in response.json()["error"]["message"]
    example.refresh_from_db()
    assert example.resource_version == 1


@override_settings(INVOKER_SPEC_LIMITS=THREE_PODS_PER_ENTITY)
def test_an_import_over_the_limit_is_refused(api, db):
    text = EXAMPLE_PATH.read_text().replace(
        '        - name: splitter-2\n          partitions: ["4", "5"]\n',
        '        - name: splitter-2\n          partitions: ["4", "5"]\n        - name: splitter-3\n',
    )
    response = api("editor").generic(
        "POST", "/api/deployments/import/", text, content_type="application/yaml"
    )
    assert error(response) == (400, "invalid_spec", [(PODS, "too_many")])


def test_a_stored_deployment_over_a_lowered_limit_still_reads_but_changes_no_further(api, example):
    with override_settings(INVOKER_SPEC_LIMITS={**THREE_PODS_PER_ENTITY, "max_pods_per_entity": 2}):
        assert api("viewer").get(deployment_url(EXAMPLE_NAME)).status_code == 200
        with pytest.raises(SpecError) as refused:
            services.patch_deployment(
                EXAMPLE_NAME, {"spec": {"historyLimit": 4}}, actor=None, interface=Interface.CLI
            )
    assert "the limit is 2 pods per entity" in str(refused.value)


def _limits_in_a_fresh_process(**env: str) -> subprocess.CompletedProcess[str]:
    code = "from topology_editor.services.limits import spec_limits; print(spec_limits())"
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_limits_come_from_the_environment():
    done = _limits_in_a_fresh_process(INVOKER_MAX_PODS="7", INVOKER_MAX_ENTITIES="3")
    assert done.returncode == 0, done.stderr
    defaults = spec_limits()
    assert done.stdout.strip().splitlines()[-1] == (
        f"Limits(max_entities=3, max_pods_per_entity={defaults.max_pods_per_entity}, max_pods=7, "
        f"max_partitions_per_pod={defaults.max_partitions_per_pod})"
    )


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_bad_limit_stops_start_up_naming_the_variable(value):
    done = _limits_in_a_fresh_process(INVOKER_MAX_PODS_PER_ENTITY=value)
    assert done.returncode != 0
    assert f"INVOKER_MAX_PODS_PER_ENTITY must be a positive whole number, got {value!r}" in done.stderr
