# The io sidecar: Kafka in and out, the pod's metrics endpoint.
# Build from the repository root:  docker build -f executor/docker/io.Dockerfile -t invoker-io .
# (`./dev images` builds it daemonless, on the project's own Python base; docs/images.md.)
# Pin the base by digest in CI (python:3.11-slim-bookworm@sha256:...); no registry is reachable here.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS deps
COPY requirements.txt /tmp/requirements.txt
# Only this container's packages, at the versions pinned for the whole project. pip and
# setuptools leave afterwards: nothing installs at run time (the root filesystem is read-only).
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir \
      $(grep -iE '^(kafka-python|crc32c|msgpack|tenacity|prometheus-client|kubernetes)==' /tmp/requirements.txt) \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
# One uid for all three containers, so they share the socket emptyDir without world-writable files.
USER 10001:10001
EXPOSE 9400
ENTRYPOINT ["python", "-m", "executor.io_sidecar"]
# The code last: an edit to it re-runs these steps, every step above stays cached. The pod
# contract (config file shapes, environment names) is shared with the orchestrator.
COPY podcontract /app/podcontract
COPY executor /app/executor
