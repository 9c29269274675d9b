"""Removes what a deleted deployment leaves in Kafka and Redis: its state keys, its changelog
topics and its consumer groups (the committed input offsets).

Input and output topics stay: other systems may read or write them. Transactional ids cannot be
deleted; the broker forgets them after `transactional.id.expiration.ms`. Call this only once the
deployment's pods are gone: a pod still running could commit again and bring a group back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from executor.changelog import SUFFIX, deployment_prefix
from executor.kafka_clients import admin_options
from executor.state_store import delete_deployment_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Removed:
    """What one cleanup removed."""

    state_keys: int
    topics: list[str]
    groups: list[str]


def group_prefix(deployment: str) -> str:
    """Every consumer group of a deployment starts with this (see MainConfig.group_id)."""
    return f"invoker.{deployment}."


def changelog_topics(admin: KafkaAdminClient, deployment: str) -> list[str]:
    prefix = deployment_prefix(deployment)
    return sorted(t for t in admin.list_topics() if t.startswith(prefix) and t.endswith(SUFFIX))


def consumer_groups(admin: KafkaAdminClient, deployment: str) -> list[str]:
    prefix = group_prefix(deployment)
    return sorted(g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(prefix))


def delete_kafka_data(deployment: str, bootstrap_servers: str) -> tuple[list[str], list[str]]:
    """Deletes the deployment's changelog topics and consumer groups; returns their names.

    Idempotent; raises KafkaError when the broker does not answer, so the caller can retry.
    """
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="invoker-cleanup", **admin_options()
    )
    try:
        topics = changelog_topics(admin, deployment)
        if topics:
            admin.delete_topics(topics)
        groups = consumer_groups(admin, deployment)
        if groups:
            _delete_groups(admin, groups)
    finally:
        admin.close()
    return topics, groups


def delete_deployment_data(deployment: str, bootstrap_servers: str, state_url: str | None) -> Removed:
    """Deletes the deployment's state keys (with `state_url`), changelog topics and consumer groups."""
    keys = delete_deployment_state(state_url, deployment) if state_url else 0
    topics, groups = delete_kafka_data(deployment, bootstrap_servers)
    log.info("deleted %s: %d state keys, topics %s, consumer groups %s", deployment, keys, topics, groups)
    return Removed(state_keys=keys, topics=topics, groups=groups)


def _delete_groups(admin: KafkaAdminClient, groups: list[str]) -> None:
    failed = {g: e for g, e in admin.delete_groups(groups).items() if e not in ("OK", "GroupIdNotFoundError")}
    if failed:
        raise KafkaError(f"could not delete consumer groups: {failed}")
