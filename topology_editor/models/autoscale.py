"""Each entity's autoscaling policy and its latest recommendation (issue 16, item 2).

A table of its own rather than a spec field: the policy is an operating setting stored with the
deployment, not part of what a revision deploys (and the spec schema is being reworked
meanwhile). A policy whose entity was removed or renamed is ignored until it is deleted or the
entity comes back.
"""

from django.db import models

from topology_editor.models.deployment import Deployment


class AutoscalePolicy(models.Model):
    """The bounds and thresholds of ``orchestrator.planning.autoscale.Policy``, ``auto`` (apply the
    recommendation without asking, within the bounds, while the deployment's automation runs),
    when the autoscaler last changed the pod count, and the last recommendation with its
    evidence (shown to viewers, approved by operators)."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="autoscale_policies")
    entity = models.CharField(max_length=63)
    auto = models.BooleanField(default=False)
    min_pods = models.PositiveIntegerField(default=1)
    max_pods = models.PositiveIntegerField(default=10)
    target_records_per_pod = models.FloatField(default=1000.0)
    scale_out_after_seconds = models.FloatField(default=30.0)
    utilisation_floor = models.FloatField(default=0.3)
    scale_in_after_seconds = models.FloatField(default=120.0)
    cooldown_seconds = models.FloatField(default=120.0)
    max_step = models.PositiveIntegerField(default=2)
    last_scaled_at = models.DateTimeField(null=True, blank=True)
    recommendation = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deployment", "entity"], name="one_autoscale_policy_per_entity")
        ]
        verbose_name_plural = "autoscale policies"

    def __str__(self) -> str:
        return f"{self.deployment.name}/{self.entity}"
