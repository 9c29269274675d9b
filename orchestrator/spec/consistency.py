"""Rules that relate fields to each other: unique names, one owner per partition, every
partition of a known topic owned, one partition count per topic, no entity reading its own
output.

These checks look only at the well-formed parts of the manifest (a malformed part is reported
by the structural checks in :mod:`orchestrator.spec.validation`), so that a user who got a
quantity wrong *and* assigned a partition twice hears about both at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from orchestrator.spec.fields import Report, at, items, join, partition_value, plain_partition_ids
from orchestrator.spec.model import MAX_INPUT_PARTITIONS

_LISTED_MISSING = 10


def check_consistency(spec: Mapping[str, Any], path: str, report: Report) -> None:
    """Records every cross-field problem of the ``spec`` mapping found at ``path``."""
    entities = list(_located(spec.get("statefulEntities"), join(path, "statefulEntities")))
    _check_unique_names(entities, "entity", report)
    pods = [pod for entity_path, entity in entities for pod in _pods(entity, entity_path)]
    _check_unique_names(pods, "pod", report)
    for entity_path, entity in entities:
        _check_ownership(entity, entity_path, report)
        _check_topics_differ(entity, entity_path, report)
    _check_partition_counts_agree(entities, report)


def _located(value: object, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield from ((at(path, i), item) for i, item in items(value))


def _pods(entity: Mapping[str, Any], entity_path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    return _located(entity.get("pods"), join(entity_path, "pods"))


def _check_unique_names(located: list[tuple[str, Mapping[str, Any]]], kind: str, report: Report) -> None:
    """Entity names are unique in a deployment; pod names across the whole deployment, since
    they name Kubernetes pods and ``<pod>.json`` keys."""
    first_use: dict[str, str] = {}
    for path, item in located:
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in first_use:
            message = f"{kind} name {name!r} is already used by {first_use[name]}"
            report.add(join(path, "name"), message, "duplicate")
        else:
            first_use[name] = path


def _check_ownership(entity: Mapping[str, Any], entity_path: str, report: Report) -> None:
    owners: dict[int, tuple[str, str]] = {}
    for j, (pod_path, pod) in enumerate(_pods(entity, entity_path)):
        name = pod.get("name")
        owner = (pod_path, name if isinstance(name, str) else f"pods[{j}]")
        _claim_partitions(pod.get("partitions"), owner, owners, report)
    _check_all_owned(entity, entity_path, owners, report)


def _claim_partitions(
    raw: object, owner: tuple[str, str], owners: dict[int, tuple[str, str]], report: Report
) -> None:
    """Records each partition's first owner; reports every later claim at its own path."""
    values = raw if isinstance(raw, list) else []
    if _all_new_plain_ids(values, owners):
        owners.update(dict.fromkeys(values, owner))  # in C: a pod may own 100,000 partitions
        return
    seen: set[int] = set()
    for k, value in enumerate(values):
        partition = partition_value(value)
        if not isinstance(partition, int):
            continue
        first = owners.setdefault(partition, owner)
        if partition in seen:
            message = f"partition {partition} is listed twice in pod {owner[1]}"
        elif first != owner:
            message = f"partition {partition} is assigned to two pods ({first[1]} and {owner[1]})"
        else:
            seen.add(partition)
            continue
        report.add(at(join(owner[0], "partitions"), k), message, "duplicate")


def _all_new_plain_ids(values: list[Any], owners: dict[int, tuple[str, str]]) -> bool:
    """Whether ``values`` are distinct partition ids written as ints, none owned yet: the common
    case, which then needs no item-by-item walk."""
    if not plain_partition_ids(values):
        return False
    unique = set(values)
    return len(unique) == len(values) and unique.isdisjoint(owners)


def _check_all_owned(
    entity: Mapping[str, Any], entity_path: str, owners: dict[int, tuple[str, str]], report: Report
) -> None:
    """With a known partition count, "exactly one owner" also means "at least one"."""
    count = entity.get("inputPartitions")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_INPUT_PARTITIONS:
        return
    if not isinstance(entity.get("pods"), list):
        return
    missing = [p for p in range(count) if p not in owners]
    if missing:
        listed = ", ".join(str(p) for p in missing[:_LISTED_MISSING])
        more = f" and {len(missing) - _LISTED_MISSING} more" if len(missing) > _LISTED_MISSING else ""
        noun, verb = ("partition", "is") if len(missing) == 1 else ("partitions", "are")
        message = f"{noun} {listed}{more} of the input topic ({count} in all) {verb} not assigned to any pod"
        report.add(join(entity_path, "pods"), message, "unassigned")


def _check_topics_differ(entity: Mapping[str, Any], entity_path: str, report: Report) -> None:
    topic = entity.get("inputTopic")
    if isinstance(topic, str) and topic == entity.get("outputTopic"):
        message = f"an entity must not write the topic it reads ({topic!r})"
        report.add(join(entity_path, "outputTopic"), message, "conflict")


def _check_partition_counts_agree(entities: list[tuple[str, Mapping[str, Any]]], report: Report) -> None:
    """Two entities reading one topic must agree on its partition count."""
    counts: dict[str, tuple[int, str]] = {}
    for path, entity in entities:
        topic, count = entity.get("inputTopic"), entity.get("inputPartitions")
        if not isinstance(topic, str) or not isinstance(count, int) or isinstance(count, bool):
            continue
        known, where = counts.setdefault(topic, (count, path))
        if known != count:
            message = f"topic {topic!r} has {known} partitions according to {where}, not {count}"
            report.add(join(path, "inputPartitions"), message, "conflict")
