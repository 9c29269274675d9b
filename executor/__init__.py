"""The pod runtime: a user's function (UDF) beside a Kafka I/O sidecar and a state sidecar.

Each of the three runs as its own process (a container in Kubernetes) and they talk over Unix
domain sockets in a shared directory. Nothing here imports Django or the orchestrator: a pod
is configured only by its environment and the mounted config files (see docs/executor.md).
"""
