"""`manage.py reconcile NAME [--dry-run]`."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jobs.backends import get_backend
from orchestrator import load_manifest_yaml
from tests.jobs.conftest import EXAMPLE
from topology_editor import services
from topology_editor.models import Interface, ReconcileRun

pytestmark = pytest.mark.usefixtures("local_backend")


def test_a_dry_run_prints_the_difference_and_writes_nothing(deployment) -> None:
    out = StringIO()
    call_command("reconcile", deployment.name, "--dry-run", stdout=out)
    text = out.getvalue()
    assert "create ConfigMap/word-count-demo.splitter" in text
    assert "create Deployment/word-count-demo.totals-0" in text
    assert "would apply 12 change(s); 0 API writes" in text
    observed = get_backend().observe(deployment.name)
    assert observed.root is None
    assert not any(observed.objects.values())
    assert not ReconcileRun.objects.exists()


def test_it_reconciles_in_the_foreground_and_then_has_nothing_to_do(deployment) -> None:
    call_command("reconcile", deployment.name, stdout=StringIO())
    assert len(get_backend().observe(deployment.name).objects["Deployment"]) == 4
    out = StringIO()
    call_command("reconcile", deployment.name, stdout=out)
    assert "nothing to change" in out.getvalue()
    assert ReconcileRun.objects.count() == 2


def test_an_unknown_deployment_is_named(db) -> None:
    with pytest.raises(CommandError, match="no deployment named 'nope'"):
        call_command("reconcile", "nope")


def _compact(partitions: list[int | str]) -> str:
    return json.dumps(sorted(int(p) for p in partitions), separators=(",", ":"))


def test_a_dry_run_prints_each_update_down_to_the_field(deployment) -> None:
    call_command("reconcile", deployment.name, stdout=StringIO())
    manifest = load_manifest_yaml(EXAMPLE.read_text())
    first, second = manifest["spec"]["statefulEntities"][0]["pods"][:2]
    before, left = list(first["partitions"]), list(second["partitions"])
    moved = left.pop()
    first["partitions"], second["partitions"] = [*before, moved], left
    services.update_deployment(deployment.name, manifest, actor=None, interface=Interface.CLI)

    out = StringIO()
    call_command("reconcile", deployment.name, "--dry-run", stdout=out)
    text = out.getvalue()
    changed = "  ConfigMap word-count-demo.splitter: splitter-{} partitions {} -> {}"
    assert changed.format("0.json", _compact(before), _compact([*before, moved])) in text, text
    assert changed.format("1.json", _compact([*left, moved]), _compact(left)) in text, text
    assert len(get_backend().observe(deployment.name).objects["Deployment"]) == 4  # nothing written
