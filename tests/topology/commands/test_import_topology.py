"""manage.py import_topology FILE: creates or updates, prints the resulting revision."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from orchestrator.spec.manifest_yaml import MAX_MANIFEST_BYTES
from tests.topology.conftest import EXAMPLE_NAME, EXAMPLE_PATH
from topology_editor.models import AuditEntry, Deployment


def _import(*args: str) -> str:
    out = io.StringIO()
    call_command("import_topology", *args, stdout=out)
    return out.getvalue().strip()


def _written(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "manifest.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def test_it_creates_then_reports_unchanged_then_updates(db, tmp_path):
    created = _import(str(EXAMPLE_PATH))
    revision = Deployment.objects.get().revisions.get().name
    assert created == f"{EXAMPLE_NAME}: created, revision {revision} (#1)"
    assert _import(str(EXAMPLE_PATH)) == f"{EXAMPLE_NAME}: unchanged, revision {revision} (#1)"

    edited = _written(tmp_path, EXAMPLE_PATH.read_text().replace("historyLimit: 5", "historyLimit: 2"))
    assert _import(edited).startswith(f"{EXAMPLE_NAME}: updated, revision {EXAMPLE_NAME}-")
    assert AuditEntry.objects.filter(interface="cli").count() == 2


def test_it_records_the_user_given(db, personas):
    _import(str(EXAMPLE_PATH), "--user", "editor")
    assert AuditEntry.objects.get().actor == personas.editor


def test_an_unknown_user_is_refused(db):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        _import(str(EXAMPLE_PATH), "--user", "ghost")


def test_it_reads_standard_input(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(EXAMPLE_PATH.read_bytes())))
    assert "created" in _import("-")


def test_a_rejected_manifest_lists_every_problem_and_changes_nothing(db, tmp_path):
    broken = EXAMPLE_PATH.read_text().replace('partitions: ["2", "3"]', 'partitions: ["1", "x"]')
    with pytest.raises(CommandError) as raised:
        _import(_written(tmp_path, broken))
    message = str(raised.value)
    assert "nothing changed" in message
    assert "spec.statefulEntities[0].pods[1].partitions[0]: partition 1 is assigned to two pods" in message
    assert "spec.statefulEntities[0].pods[1].partitions[1]:" in message
    assert not Deployment.objects.exists()


def test_malformed_yaml_names_the_line(db, tmp_path):
    with pytest.raises(CommandError, match=r"yaml: line 3, column 7"):
        _import(_written(tmp_path, "kind: InvokerDeployment\nspec: {a: 1\nstatus: x\n"))


def test_an_oversized_file_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="at most 1048576 are allowed"):
        _import(_written(tmp_path, b"#" * (MAX_MANIFEST_BYTES + 10)))


def test_a_missing_file_is_named(db, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        _import(str(tmp_path / "missing.yaml"))
