# The state sidecar: keyed state in Redis, served over the pod's Unix socket.
# Build from the repository root:  docker build -f executor/docker/state.Dockerfile -t invoker-state .
# (`./dev images` builds it daemonless, on the project's own Python base; docs/images.md.)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS deps
COPY requirements.txt /tmp/requirements.txt
# kubernetes: the state sidecar watches the entity's ConfigMap as the io sidecar does, so both
# switch to a new state backend together (executor/configmap_watch.py).
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir \
      $(grep -iE '^(redis|msgpack|tenacity|kubernetes)==' /tmp/requirements.txt) \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
ENTRYPOINT ["python", "-m", "executor.state_sidecar"]
# The code last: an edit to it re-runs these steps, every step above stays cached. The pod
# contract (config file shapes, environment names) is shared with the orchestrator.
COPY podcontract /app/podcontract
COPY executor /app/executor
