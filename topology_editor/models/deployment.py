"""The desired spec of each deployment, one row per deployment, entity and pod.

Field sizes follow the validator's own limits (names are DNS labels of at most 52
characters, topics at most 249); values it does not bound (images, addresses) are text, so a
spec the validator accepts always fits.
"""

from django.db import models

from orchestrator.spec.model import DEFAULT_IO_IMAGE, DEFAULT_STATE_IMAGE, IMAGE_PULL_POLICIES


class DeploymentState(models.TextChoices):
    """``status.state`` as DESIGN.md names it; written by the orchestrator."""

    PENDING = "Pending"
    READY = "Ready"
    UPGRADING = "Upgrading"
    DEGRADED = "Degraded"
    FAILED = "Failed"


class Deployment(models.Model):
    """One InvokerDeployment: the spec-level fields, the version for optimistic concurrency,
    and the status the orchestrator reports."""

    name = models.SlugField(max_length=63, unique=True)
    spec_version = models.CharField("version", max_length=63, default="v1")
    image_pull_policy = models.CharField(
        max_length=16, choices=[(p, p) for p in IMAGE_PULL_POLICIES], default="IfNotPresent"
    )
    image_pull_secrets = models.JSONField(default=list, blank=True, help_text="Names of Secrets.")
    history_limit = models.PositiveIntegerField(default=3, help_text="Revisions kept.")
    resource_version = models.PositiveBigIntegerField(
        default=1, editable=False, help_text="Bumped on every change of the spec; the API's ETag."
    )

    state = models.CharField(max_length=16, choices=DeploymentState.choices, default=DeploymentState.PENDING)
    current_revision = models.CharField(max_length=63, blank=True)
    next_revision = models.CharField(max_length=63, blank=True)
    last_update_time = models.DateTimeField(null=True, blank=True)
    components = models.JSONField(default=dict, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    status_message = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    # Automation (issue 16): opt-in; a rollback or a manual change pauses it until an operator
    # resumes it (services/automation.py), so automation never undoes a person's decision.
    automation_enabled = models.BooleanField(default=False)
    automation_paused_since = models.DateTimeField(null=True, blank=True)
    automation_paused_reason = models.CharField(max_length=300, blank=True)
    # The editor's node positions (issue 14): the manifest's `invoker.io/layout` annotation, kept
    # as its text; not part of the spec, so no revision and nothing to reconcile.
    layout = models.TextField(blank=True, default="", help_text="The invoker.io/layout annotation.")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("rebalance_deployment", "Can rebalance the partitions of a deployment"),
            ("rollback_deployment", "Can roll a deployment back to an earlier revision"),
        ]

    def __str__(self) -> str:
        return self.name


class StatefulEntity(models.Model):
    """One operation of the topology, in the order the spec lists it."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="entities")
    position = models.PositiveIntegerField(default=0)
    name = models.SlugField(max_length=63)
    executor_image = models.TextField()
    io_image = models.TextField(default=DEFAULT_IO_IMAGE)
    state_image = models.TextField(default=DEFAULT_STATE_IMAGE)
    io_address = models.TextField(help_text="Kafka bootstrap servers, host:port[,host:port...].")
    input_topic = models.CharField(max_length=255)
    output_topic = models.CharField(max_length=255)
    input_partitions = models.PositiveIntegerField(
        null=True, blank=True, help_text="Partition count of the input topic, when known."
    )

    class Meta:
        ordering = ["deployment", "position"]
        verbose_name_plural = "stateful entities"
        constraints = [
            models.UniqueConstraint(fields=["deployment", "name"], name="entity_name_unique_in_deployment"),
        ]

    def __str__(self) -> str:
        return self.name


class Pod(models.Model):
    """One parallel instance of an entity. It also points at its deployment, because pod
    names are unique across a deployment (they name Kubernetes pods)."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="pods")
    entity = models.ForeignKey(StatefulEntity, on_delete=models.CASCADE, related_name="pods")
    position = models.PositiveIntegerField(default=0)
    name = models.SlugField(max_length=63)
    partitions = models.JSONField(default=list, blank=True, help_text="Input partitions, e.g. [0, 1].")
    resources = models.JSONField(
        default=dict,
        blank=True,
        help_text='Kubernetes requests and limits, e.g. {"requests": {"cpu": "250m"}}',
    )
    executor_image = models.TextField(
        blank=True, default="", help_text="This pod's own UDF image (a canary); empty: its entity's."
    )

    class Meta:
        ordering = ["entity", "position"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "name"], name="pod_name_unique_in_deployment"),
        ]

    def __str__(self) -> str:
        return self.name
