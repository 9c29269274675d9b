"""Reconcile runs and audit entries in the admin: listed, read-only."""

from django.utils import timezone

from topology_editor.models import AuditEntry, ReconcileRun


def test_reconcile_runs_and_audit_entries_are_listed(client, personas, example):
    ReconcileRun.objects.create(deployment=example, started_at=timezone.now(), result="error", error="boom")
    client.force_login(personas.viewer)
    runs = client.get("/admin/topology_editor/reconcilerun/")
    assert runs.status_code == 200
    assert b"boom" not in runs.content
    assert b"Error" in runs.content
    entries = client.get("/admin/topology_editor/auditentry/")
    assert b"created word-count-demo" in entries.content


def test_they_cannot_be_changed(client, personas, example):
    client.force_login(personas.owner)
    entry = AuditEntry.objects.get()
    assert (
        client.post(f"/admin/topology_editor/auditentry/{entry.pk}/change/", {"summary": "x"}).status_code
        == 403
    )
    assert client.get("/admin/topology_editor/reconcilerun/add/").status_code == 403
