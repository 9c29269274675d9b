"""The editor's node positions (issue 14, item 1): the ``invoker.io/layout`` annotation is kept
with a deployment (not in its spec: no revision), answered back, exported and imported; a bad one
is refused naming it, and nothing changes."""

import json

import pytest
import yaml

from orchestrator import SpecError, parse_deployment, to_manifest
from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from tests.topology.helpers import deployment_url, error
from topology_editor.layout import LAYOUT_ANNOTATION, layout_of
from topology_editor.models import Deployment, Revision

URL = deployment_url(EXAMPLE_NAME)
POSITIONS = json.dumps({"splitter": [16, 16], "counter": [400.5, 120]})


def with_positions(manifest: dict, text: object) -> dict:
    manifest.setdefault("metadata", {})["annotations"] = {LAYOUT_ANNOTATION: text}
    return manifest


def test_the_spec_library_accepts_annotations_and_leaves_them_out_of_the_spec() -> None:
    spec = parse_deployment(with_positions(example_manifest(), POSITIONS))
    assert spec == parse_deployment(example_manifest())
    assert "annotations" not in to_manifest(spec)["metadata"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "is not JSON"),
        ('{"splitter": [1]}', "must map each entity name to its position [x, y]"),
        ('{"splitter": [true, 2]}', "must map each entity name to its position [x, y]"),
        ("[[1, 2]]", "must map each entity name"),
        (42, "must be a JSON text"),
    ],
)
def test_a_bad_layout_is_named(text: object, says: str) -> None:
    with pytest.raises(SpecError) as raised:
        layout_of(with_positions(example_manifest(), text))
    [field] = raised.value.errors
    assert field.path == "metadata.annotations['invoker.io/layout']"
    assert says in field.message


def test_no_annotation_keeps_the_layout_and_an_empty_one_clears_it() -> None:
    assert layout_of(example_manifest()) is None
    assert layout_of(with_positions(example_manifest(), "")) == ""
    assert layout_of(with_positions(example_manifest(), POSITIONS)) == POSITIONS


def test_positions_are_kept_answered_exported_and_imported_without_a_revision(api, example):
    client = api("editor")
    current = client.get(URL).json()
    manifest = with_positions({**current, "metadata": {"name": EXAMPLE_NAME}}, POSITIONS)
    response = client.put(URL, manifest, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert response.json()["metadata"]["annotations"][LAYOUT_ANNOTATION] == POSITIONS
    assert Revision.objects.count() == 1  # positions alone are no change of the spec
    assert client.get(URL).json()["metadata"]["annotations"][LAYOUT_ANNOTATION] == POSITIONS

    exported = yaml.safe_load(client.get(deployment_url(EXAMPLE_NAME, "export")).content)
    assert exported["metadata"]["annotations"] == {LAYOUT_ANNOTATION: POSITIONS}
    exported["metadata"]["name"] = "copy"
    created = client.generic(
        "POST", "/api/deployments/import/", yaml.safe_dump(exported), content_type="application/yaml"
    )
    assert created.status_code == 201, created.content
    assert Deployment.objects.get(name="copy").layout == POSITIONS

    # A client that knows nothing of positions (no annotation) leaves them; "" clears them.
    assert client.put(URL, {**current, "metadata": {"name": EXAMPLE_NAME}}, format="json").status_code == 200
    assert Deployment.objects.get(name=EXAMPLE_NAME).layout == POSITIONS
    cleared = with_positions({**current, "metadata": {"name": EXAMPLE_NAME}}, "")
    assert client.put(URL, cleared, format="json").status_code == 200
    assert (
        "annotations"
        not in yaml.safe_load(client.get(deployment_url(EXAMPLE_NAME, "export")).content)["metadata"]
    )


def test_a_bad_layout_is_refused_and_nothing_changes(api, example):
    client = api("editor")
    current = client.get(URL).json()
    manifest = with_positions({**current, "metadata": {"name": EXAMPLE_NAME}}, '{"splitter": "left"}')
    manifest["spec"]["historyLimit"] = 7
    status, _, fields = error(client.put(URL, manifest, format="json"))
    assert (status, fields) == (400, [("metadata.annotations['invoker.io/layout']", "invalid")])
    deployment = Deployment.objects.get(name=EXAMPLE_NAME)
    assert (deployment.layout, deployment.history_limit, deployment.resource_version) == ("", 5, 1)
