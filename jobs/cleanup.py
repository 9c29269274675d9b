"""Deleting a deployment: its objects, then what its pods left behind outside them.

The backend deletes the root object, which owns every other object. What the pods wrote
elsewhere goes next, once they stopped: their state keys in the state store, the changelog
topics and consumer groups (committed offsets) in Kafka, and on the local backend the pods' log
files. Input and output topics stay: other systems may share them.

Two guards, because deployment names are all there is to go by in Redis and Kafka:

- Kafka data is deleted only for a deployment whose pods ran against this control plane's state
  store (it held state keys of the deployment). Another instance with the same deployment name
  on the same broker (a `./dev up` beside the test suite, say) keeps its offsets and changelogs.
- Pods still stopping (Kubernetes gives them 30 s) could commit once more after the first
  cleanup, so a second one runs a minute later, unless the deployment was created again.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from typing import Any

import redis
from celery import shared_task
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from jobs.backends import get_backend
from orchestrator.local.backend import LocalBackend
from orchestrator.reconciler.backend import Backend, Observed
from topology_editor import metrics_history, partition_rates, topic_history
from topology_editor.models import Deployment

log = logging.getLogger(__name__)
CLEANUP_AGAIN_SECONDS = 60
LOCAL_STOP_SECONDS = 60  # how long to wait for the local runtime to stop the pods


# Where the executor keeps a deployment's data (executor/state_store.py, executor/changelog.py,
# executor/config.py); the control plane may not import the executor, and
# tests/jobs/test_delete_cleanup.py checks that these agree with it.
STATE_KEYS = "invoker:{{{deployment}:*"
CHANGELOG_PREFIX, CHANGELOG_SUFFIX = "{deployment}.", ".changelog"
GROUP_PREFIX = "invoker.{deployment}."


def delete_deployment_state(url: str, deployment: str) -> int:
    """Deletes every state key of the deployment in one state store; returns how many."""
    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        keys = list(client.scan_iter(match=STATE_KEYS.format(deployment=deployment), count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        return len(keys)
    finally:
        client.close()


def delete_kafka_data(deployment: str, bootstrap_servers: str) -> tuple[list[str], list[str]]:
    """Deletes the deployment's changelog topics and consumer groups; returns their names."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="invoker-cleanup", request_timeout_ms=10000
    )
    try:
        prefix = CHANGELOG_PREFIX.format(deployment=deployment)
        topics = sorted(
            t for t in admin.list_topics() if t.startswith(prefix) and t.endswith(CHANGELOG_SUFFIX)
        )
        if topics:
            admin.delete_topics(topics)
        prefix = GROUP_PREFIX.format(deployment=deployment)
        groups = sorted(g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(prefix))
        deleted = admin.delete_groups(groups) if groups else {}
        failed = {g: e for g, e in deleted.items() if e not in ("OK", "GroupIdNotFoundError")}
        if failed:
            raise KafkaError(f"could not delete consumer groups {failed}")
    finally:
        admin.close()
    return topics, groups


def data_targets(observed: Observed) -> list[list[str]]:
    """[bootstrap servers, state URL] of each entity, from its ConfigMap's `main.json`."""
    targets = set()
    for config_map in observed.objects.get("ConfigMap", {}).values():
        try:
            main = json.loads(config_map.get("data", {}).get("main.json", ""))
            targets.add((str(main["bootstrapServers"]), str(main["stateBackend"]["url"])))
        except (ValueError, KeyError, TypeError):
            log.warning("ConfigMap %s has no usable main.json", config_map["metadata"]["name"])
    return [list(t) for t in sorted(targets)]


def remove_deployment(name: str, backend: Backend) -> None:
    """Deletes the deployment's objects, then its data; the data again a minute later."""
    targets = data_targets(backend.observe(name))
    backend.delete_deployment(name)
    _forget_samples(name)
    if not targets:
        return  # nothing of it ever ran here
    _wait_for_local_pods(name, backend)
    owned = remove_data(name, targets, owned=None)
    _remove_local_logs(name, backend)
    cleanup_deleted.apply_async(args=[name, targets, owned], countdown=CLEANUP_AGAIN_SECONDS)


def _forget_samples(name: str) -> None:
    """The dashboard's kept samples of it: a deployment created again under the name starts a
    history of its own. Redis being away only delays this (the samples expire on their own)."""
    try:
        metrics_history.clear(name)
        partition_rates.clear(name)
        topic_history.clear(name)
    except redis.RedisError as exc:
        log.warning("metrics samples of %s not deleted (they expire on their own): %s", name, exc)


def remove_data(name: str, targets: list[list[str]], owned: bool | None) -> bool:
    """Deletes state keys, then (if `owned`, or None and this store held some) Kafka data.

    Returns whether the deployment was found to be this control plane's. A server that does not
    answer is logged, not raised: the second cleanup tries again.
    """
    keys = 0
    for url in sorted({state_url for _, state_url in targets}):
        try:
            keys += delete_deployment_state(url, name)
        except redis.RedisError as exc:
            log.warning("state keys of %s in %s not deleted: %s", name, url, exc)
    owned = keys > 0 if owned is None else owned
    if not owned:
        log.info("kept the Kafka data of %s: its pods never ran against this state store", name)
        return False
    for bootstrap in sorted({bootstrap for bootstrap, _ in targets}):
        try:
            topics, groups = delete_kafka_data(name, bootstrap)
        except KafkaError as exc:
            log.warning("Kafka data of %s on %s not deleted: %s", name, bootstrap, exc)
            continue
        log.info("deleted %s: %d state keys, changelogs %s, consumer groups %s", name, keys, topics, groups)
    return True


@shared_task(name="jobs.cleanup_deleted", ignore_result=True)
def cleanup_deleted(name: str, targets: list[list[str]], owned: bool) -> str:
    """The second cleanup of a deleted deployment, after pods that were still stopping are gone."""
    if Deployment.objects.filter(name=name).exists():
        return "recreated"  # what is there now belongs to the new one
    remove_data(name, targets, owned=owned)
    _remove_local_logs(name, get_backend())
    return "cleaned"


def _wait_for_local_pods(name: str, backend: Backend) -> None:
    """On the local backend, until the runtime stopped the pods (their status files are gone)."""
    if not isinstance(backend, LocalBackend) or not backend.runtime_alive():
        return
    deadline = time.monotonic() + LOCAL_STOP_SECONDS
    while time.monotonic() < deadline and _local_pods(name, backend):
        time.sleep(0.2)


def _local_pods(name: str, backend: LocalBackend) -> list[dict[str, Any]]:
    return [s for s in backend.store.pod_statuses(backend.namespace) if s.get("instance") == name]


def _remove_local_logs(name: str, backend: Backend) -> None:
    """The local runtime keeps each pod's logs in `runtime/logs/<namespace>/<deployment>.<pod>/`."""
    if not isinstance(backend, LocalBackend):
        return
    logs = backend.store.log_dir(backend.namespace, name).parent
    if not logs.is_dir():
        return
    for directory in logs.iterdir():
        if directory.name.startswith(f"{name}.") and directory.is_dir():  # names have no dots
            shutil.rmtree(directory, ignore_errors=True)
