"""The dashboard's tables: the desired spec as relational rows, its revisions, the reconcile
runs the orchestrator records, and an audit entry per change.

Rows of the spec (deployment fields, entities, pods) are written only by
:func:`topology_editor.spec_rows.write_spec_rows`, from a spec that passed
:func:`orchestrator.parse_deployment`; change them through :mod:`topology_editor.services`.
"""

from topology_editor.models.autoscale import AutoscalePolicy
from topology_editor.models.deployment import Deployment, DeploymentState, Pod, StatefulEntity
from topology_editor.models.history import AuditEntry, Interface, ReconcileResult, ReconcileRun, Revision

__all__ = [
    "AuditEntry",
    "AutoscalePolicy",
    "Deployment",
    "DeploymentState",
    "Interface",
    "Pod",
    "ReconcileResult",
    "ReconcileRun",
    "Revision",
    "StatefulEntity",
]
