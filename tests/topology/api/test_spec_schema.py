"""The API's description of a manifest and the editor's field list both come from the spec's
one declaration (orchestrator.spec.schema)."""

import json

import yaml

from orchestrator.spec import editor_fields as spec_editor
from orchestrator.spec import schema as declared
from orchestrator.spec import status_schema
from topology_editor.models import DeploymentState


def _components(api) -> dict:
    response = api("outsider").get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)["components"]["schemas"]


def test_the_api_schema_describes_the_declared_spec(api, db):
    schemas = _components(api)
    for name, model in [
        ("DeploymentSpec", declared.DeploymentSpec),
        ("StatefulEntity", declared.StatefulEntity),
        ("Pod", declared.Pod),
        ("ImagePullSecret", declared.ImagePullSecret),
    ]:
        assert tuple(schemas[name]["properties"]) == declared.keys(model), name
        assert sorted(schemas[name].get("required", [])) == sorted(declared.required(model)), name
    spec = schemas["DeploymentSpec"]["properties"]
    assert spec["historyLimit"]["default"] == declared.default(declared.DeploymentSpec, "historyLimit")
    assert spec["historyLimit"]["maximum"] == declared.bounds(declared.DeploymentSpec, "historyLimit")[1]
    entity = schemas["StatefulEntity"]["properties"]
    assert entity["ioImage"]["default"] == declared.default(declared.StatefulEntity, "ioImage")
    assert entity["inputPartitions"]["nullable"] is True
    partition = schemas["Pod"]["properties"]["partitions"]["items"]
    assert [option["type"] for option in partition["oneOf"]] == ["integer", "string"]
    assert tuple(schemas["ResourceAmounts"]["properties"]) == declared.keys(declared.ResourceAmounts)


def test_the_editor_reads_its_fields_and_defaults_from_the_api(api, db):
    response = api("outsider").get("/api/spec-schema/")
    assert response.status_code == 200
    fields = response.json()
    assert fields == json.loads(json.dumps(spec_editor.editor_fields()))
    assert fields["newEntity"]["ioImage"] == declared.default(declared.StatefulEntity, "ioImage")
    assert fields["newEntity"]["executorImage"] == "invoker/executor:0.1"


def test_the_spec_schema_needs_a_signed_in_user(api, db):
    assert api(None).get("/api/spec-schema/").status_code in (401, 403)


def test_the_dashboards_states_are_the_declared_ones():
    assert sorted(DeploymentState.values) == sorted(status_schema.STATES)
