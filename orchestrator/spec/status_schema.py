"""The status block of an InvokerDeployment, declared: what the orchestrator writes and the
CRD (:mod:`orchestrator.spec.crd_schema`) keeps. Beside the spec's declaration
(:mod:`orchestrator.spec.schema`), which refers to it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The states the orchestrator writes to ``status.state``.
STATES = ("Ready", "Upgrading", "Degraded", "Failed", "Pending")


class Part(BaseModel):
    """A block of the status: camelCase keys, nothing else allowed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Condition(Part):
    """One condition of the status, as Kubernetes writes them."""

    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = Field(
        None, alias="lastTransitionTime", json_schema_extra={"format": "date-time"}
    )


#: Written as ``null`` by the orchestrator (no revision yet), which the CRD must then keep.
_NULLABLE = {"nullable": True}


class DeploymentStatus(Part):
    """What the orchestrator last observed; only it writes this block."""

    state: Literal[STATES] | None = None  # type: ignore[valid-type]
    current_revision: str | None = Field(None, alias="currentRevision", json_schema_extra=_NULLABLE)
    next_revision: str | None = Field(None, alias="nextRevision", json_schema_extra=_NULLABLE)
    last_update_time: str | None = Field(
        None, alias="lastUpdateTime", json_schema_extra={"format": "date-time"}
    )
    components: dict[str, Any] | None = Field(
        None, json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}
    )
    conditions: list[Condition] | None = None
