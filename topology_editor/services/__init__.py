"""The service functions every interface calls to change a deployment: views, admin,
management commands, Celery tasks and websocket consumers.

Each validates the whole resulting spec with :func:`orchestrator.parse_deployment`, writes
everything or nothing in one transaction, records a revision when the spec changed and an
audit entry, and asks for a reconcile once the transaction commits
(:func:`topology_editor.reconcile_hook.request_reconcile`). A write may name the
``expected_version`` (``Deployment.resource_version``) it was based on; if the deployment has
moved on since, it raises :class:`StaleVersionError` and changes nothing.

Rejections: :class:`orchestrator.SpecError` (the resulting spec is invalid),
:class:`InvalidRequestError`, :class:`NotFoundError`, :class:`StaleVersionError`, :class:`ConflictError`,
:class:`RoleError` (a change whose result is an earlier revision is a rollback: see
:func:`topology_editor.services.saving.save_spec`), :class:`BusyError` (other writes held the
database's lock for longer than ``DATABASE_LOCK_TIMEOUT_SECONDS``; see
:func:`topology_editor.services.saving.write_transaction`).
"""

from topology_editor.services.changes import (
    create_deployment,
    delete_deployment,
    edit_deployment,
    import_manifest,
    update_deployment,
)
from topology_editor.services.errors import (
    BusyError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RoleError,
    ServiceError,
    StaleVersionError,
)
from topology_editor.services.partitions import (
    PartitionMove,
    Rebalance,
    move_partition,
    move_partitions,
    rebalance_entity,
)
from topology_editor.services.parts import (
    add_entity,
    add_pod,
    merge_patch,
    patch_deployment,
    remove_entity,
    remove_pod,
    update_entity,
    update_pod,
)
from topology_editor.services.recording import Origin
from topology_editor.services.rollback import roll_back
from topology_editor.services.saving import Change

__all__ = [
    "BusyError",
    "Change",
    "ConflictError",
    "InvalidRequestError",
    "NotFoundError",
    "Origin",
    "PartitionMove",
    "Rebalance",
    "RoleError",
    "ServiceError",
    "StaleVersionError",
    "add_entity",
    "add_pod",
    "create_deployment",
    "delete_deployment",
    "edit_deployment",
    "import_manifest",
    "merge_patch",
    "move_partition",
    "move_partitions",
    "patch_deployment",
    "rebalance_entity",
    "remove_entity",
    "remove_pod",
    "roll_back",
    "update_deployment",
    "update_entity",
    "update_pod",
]
