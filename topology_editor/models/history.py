"""What happened to a deployment: its revisions, the orchestrator's reconcile runs, and the
audit trail of every change with who made it and through which interface."""

from django.conf import settings
from django.db import models

from topology_editor.models.deployment import Deployment


class Revision(models.Model):
    """An immutable snapshot of a spec, named by its hash; ``number`` orders the history and
    is raised again when an earlier spec becomes the desired one."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="revisions")
    name = models.CharField(max_length=63)
    number = models.PositiveIntegerField()
    manifest = models.JSONField(help_text="The canonical manifest (orchestrator.to_manifest).")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Marked bad by an operator: no rollback, save or automation may make this spec desired again.
    bad_since = models.DateTimeField(null=True, blank=True)
    bad_reason = models.CharField(max_length=500, blank=True)
    bad_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["deployment", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "name"], name="revision_name_unique"),
            models.UniqueConstraint(fields=["deployment", "number"], name="revision_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.number})"


class ReconcileResult(models.TextChoices):
    RUNNING = "running"
    SUCCESS = "success"
    NOOP = "noop"
    ERROR = "error"


class ReconcileRun(models.Model):
    """One reconcile pass, written by the orchestrator's Celery task."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="reconcile_runs")
    revision = models.CharField(max_length=63, blank=True)
    trigger = models.CharField(max_length=200, blank=True, help_text="Why it ran: a change, a resync...")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    result = models.CharField(max_length=16, choices=ReconcileResult.choices, default=ReconcileResult.RUNNING)
    api_calls = models.PositiveIntegerField(default=0)
    api_writes = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["deployment", "-started_at"], name="reconcile_run_recent")]

    def __str__(self) -> str:
        return f"{self.deployment_id} {self.started_at:%Y-%m-%d %H:%M:%S} {self.result}"


class Interface(models.TextChoices):
    """Where a change came from."""

    UI = "ui", "UI"
    API = "api", "API"
    ADMIN = "admin", "admin"
    CLI = "cli", "CLI"
    SYSTEM = "system", "system"


class AuditEntry(models.Model):
    """One change: who, when, through which interface, and the structural diff. It outlives
    its deployment (and its user), keeping their names."""

    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    deployment_name = models.CharField(max_length=63)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    interface = models.CharField(max_length=8, choices=Interface.choices)
    action = models.CharField(max_length=32)
    summary = models.TextField()
    changes = models.JSONField(default=list, help_text="The structural diff (orchestrator.diff_specs).")
    revision = models.CharField(max_length=63, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.deployment_name}: {self.summary}"
