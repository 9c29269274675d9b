"""The operator core, free of Django: the spec, its validation and YAML form, revisions,
partition rebalancing (and, beside them, the reconcile phases and backends).

The spec layer is re-exported here so that callers need one import::

    from orchestrator import SpecError, load_manifest_yaml, parse_deployment, revision_name
"""

from orchestrator.planning.rebalance import (
    Move,
    RebalancePlan,
    move_partition,
    plan_rebalance,
    rebalance_entity,
)
from orchestrator.spec.manifest_yaml import dump_manifest_yaml, load_manifest_yaml
from orchestrator.spec.model import (
    API_VERSION,
    DEFAULT_IO_IMAGE,
    DEFAULT_STATE_IMAGE,
    KIND,
    DeploymentSpec,
    EntitySpec,
    FieldError,
    PodSpec,
    SpecError,
    to_manifest,
)
from orchestrator.spec.revisions import SpecChange, canonical_spec, diff_specs, revision_name
from orchestrator.spec.validation import parse_deployment, validate_manifest

__all__ = [
    "API_VERSION",
    "DEFAULT_IO_IMAGE",
    "DEFAULT_STATE_IMAGE",
    "KIND",
    "DeploymentSpec",
    "EntitySpec",
    "FieldError",
    "Move",
    "PodSpec",
    "RebalancePlan",
    "SpecChange",
    "SpecError",
    "canonical_spec",
    "diff_specs",
    "dump_manifest_yaml",
    "load_manifest_yaml",
    "move_partition",
    "parse_deployment",
    "plan_rebalance",
    "rebalance_entity",
    "revision_name",
    "to_manifest",
    "validate_manifest",
]
