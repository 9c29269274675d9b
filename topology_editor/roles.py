"""The three roles, as Django groups holding model permissions (created by migration 0002).

- ``viewer`` reads deployments, revisions, reconcile runs and the audit trail;
- ``editor`` also changes specs: create, update, delete, move a partition, import;
- ``operator`` also rebalances entities and rolls deployments back. A change whose result is
  an earlier stored revision (other than the desired one) is a rollback too, however it was
  made, and needs :data:`ROLLBACK` (``services.saving.require_rollback_role``).

Each group holds every permission its role needs, so one group per user is enough; superusers
have them all. The API, the admin, the pages and the websocket ask ``user.has_perm`` for the
permissions below; README's "Roles" table says the same (tests/topology/test_roles.py checks).
"""

VIEWER, EDITOR, OPERATOR = "viewer", "editor", "operator"
ROLES = (VIEWER, EDITOR, OPERATOR)

VIEW = "topology_editor.view_deployment"
ADD = "topology_editor.add_deployment"
CHANGE = "topology_editor.change_deployment"
DELETE = "topology_editor.delete_deployment"
REBALANCE = "topology_editor.rebalance_deployment"
ROLLBACK = "topology_editor.rollback_deployment"

_READ_MODELS = ("deployment", "statefulentity", "pod", "revision", "reconcilerun", "auditentry")
_SPEC_MODELS = ("deployment", "statefulentity", "pod")

_VIEWER_CODENAMES = tuple(f"view_{model}" for model in _READ_MODELS)
_EDITOR_CODENAMES = _VIEWER_CODENAMES + tuple(
    f"{verb}_{model}" for model in _SPEC_MODELS for verb in ("add", "change", "delete")
)
_OPERATOR_CODENAMES = (*_EDITOR_CODENAMES, "rebalance_deployment", "rollback_deployment")

#: The ``topology_editor`` permission codenames of each group.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    VIEWER: _VIEWER_CODENAMES,
    EDITOR: _EDITOR_CODENAMES,
    OPERATOR: _OPERATOR_CODENAMES,
}
