"""`manage.py reconcile NAME [--dry-run]`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jobs.backends import get_backend
from topology_editor.models import ReconcileRun

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
