"""manage.py export_topology NAME: the YAML on standard output, re-importable unchanged."""

import io

import pytest
from django.core.management import CommandError, call_command

from orchestrator import dump_manifest_yaml, load_manifest_yaml, parse_deployment, to_manifest
from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from topology_editor.models import Deployment


def _export(name: str) -> str:
    out = io.StringIO()
    call_command("export_topology", name, stdout=out)
    return out.getvalue()


def test_it_prints_the_canonical_manifest(example):
    assert _export(EXAMPLE_NAME) == dump_manifest_yaml(to_manifest(parse_deployment(example_manifest())))


def test_export_then_import_is_the_identity(example, tmp_path):
    path = tmp_path / "exported.yaml"
    path.write_text(_export(EXAMPLE_NAME))
    out = io.StringIO()
    call_command("import_topology", str(path), stdout=out)
    assert ": unchanged, revision" in out.getvalue()
    assert Deployment.objects.get().resource_version == 1
    assert parse_deployment(load_manifest_yaml(path.read_text())) == parse_deployment(example_manifest())


def test_an_unknown_deployment_names_the_known_ones(example):
    with pytest.raises(CommandError, match=f"no deployment named 'nope' \\(deployments: {EXAMPLE_NAME}\\)"):
        _export("nope")
