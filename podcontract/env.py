"""The environment a pod's containers share, and the places inside the pod it points at.

Kubernetes gives every container of a pod these variables (convert's ``env`` list, the pod name
through the downward API); the local runtime sets the same names to local paths. The executor
reads them once at start-up (``executor/env.py``).
"""

from __future__ import annotations

#: The pod's name in the spec (a label, through the downward API): it names ``<pod>.json``.
POD_NAME = "POD_NAME"
#: The Kubernetes pod's own name (with the ReplicaSet's hash), for logs and events.
KUBERNETES_POD_NAME = "KUBERNETES_POD_NAME"
#: The namespace of the pod, where the io sidecar watches its entity's ConfigMap.
POD_NAMESPACE = "POD_NAMESPACE"
#: The directory the ConfigMap is mounted at, holding ``main.json`` and ``<pod>.json``.
CONFIG_DIR_ENV = "INVOKER_CONFIG_DIR"
#: The directory the three containers share their Unix sockets in.
SOCKET_DIR_ENV = "INVOKER_SOCKET_DIR"
#: The port the io sidecar serves Prometheus metrics on.
METRICS_PORT_ENV = "INVOKER_METRICS_PORT"
#: The entity's ConfigMap, which the io sidecar also watches through the API.
CONFIG_MAP_ENV = "INVOKER_CONFIG_MAP"
#: The io sidecar's tuning knobs (``executor.env.Tuning``) and the log level of every container.
BATCH_MAX_RECORDS_ENV = "INVOKER_BATCH_MAX_RECORDS"
BATCH_MAX_MS_ENV = "INVOKER_BATCH_MAX_MS"
BATCH_MIN_RECORDS_ENV = "INVOKER_BATCH_MIN_RECORDS"
BATCH_LINGER_MS_ENV = "INVOKER_BATCH_LINGER_MS"
IDLE_POLL_MS_ENV = "INVOKER_IDLE_POLL_MS"
HANDOFF_GRACE_MS_ENV = "INVOKER_HANDOFF_GRACE_MS"
UDF_RETRIES_ENV = "INVOKER_UDF_RETRIES"
LOG_LEVEL_ENV = "INVOKER_LOG_LEVEL"
#: What a local pod may inherit from the runtime's environment: the knobs, never its secrets.
TUNING_ENV = (
    BATCH_MAX_RECORDS_ENV,
    BATCH_MAX_MS_ENV,
    BATCH_MIN_RECORDS_ENV,
    BATCH_LINGER_MS_ENV,
    IDLE_POLL_MS_ENV,
    HANDOFF_GRACE_MS_ENV,
    UDF_RETRIES_ENV,
    LOG_LEVEL_ENV,
)

#: Where a pod in a cluster has its config and its sockets (convert's volume mounts).
CONFIG_DIR = "/etc/invoker"
SOCKET_DIR = "/var/run/invoker"
#: The metrics port: the io container's ``metrics`` port and the PodMonitor's target.
METRICS_PORT = 9400
#: The sockets in the socket directory: the UDF host's and the state sidecar's.
UDF_SOCKET = "udf.sock"
STATE_SOCKET = "state.sock"
