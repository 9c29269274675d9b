# A UDF image: the UDF host plus the user's code. The targets `word-count` (the default, the last
# stage) and `sum` ship the samples; a user's image is
#   FROM invoker-udf
#   COPY mypackage /app/mypackage
#   CMD ["mypackage.module:udf"]
# Build from the repository root:  docker build -f executor/docker/udf.Dockerfile -t invoker-udf .
# (`--target sum` for the sum sample; `./dev images` builds both daemonless: docs/images.md.)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS deps
COPY requirements.txt /tmp/requirements.txt
# The host needs no Kafka or Redis client: it only speaks to the sidecars over the socket.
# pip stays in this one: user images extend it and may install their own dependencies.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir $(grep -iE '^(msgpack|tenacity)==' /tmp/requirements.txt)

FROM ${PYTHON_IMAGE} AS host
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
ENTRYPOINT ["python", "-m", "executor.udf_host"]
# The code last: an edit to it re-runs these steps, every step above stays cached. The pod
# contract (config file shapes, environment names) is shared with the orchestrator.
COPY podcontract /app/podcontract
COPY executor /app/executor

FROM host AS sum
CMD ["executor.samples.sum:udf"]

FROM host AS word-count
CMD ["executor.samples.word_count:udf"]
