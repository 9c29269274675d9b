"""The two config files a pod is given, parsed into frozen values.

`main.json` holds what every pod of an entity shares; `<pod>.json` holds this pod's partitions
and the entity's assignment epoch. Parsing fails with the file and field named, so a broken
ConfigMap is reported instead of half-applied (the watcher then keeps the last good one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A config file is missing, is not JSON, or a field has the wrong type."""


@dataclass(frozen=True)
class MainConfig:
    """Settings shared by every pod of one entity (`main.json`)."""

    deployment: str
    entity: str
    bootstrap_servers: str
    input_topic: str
    output_topic: str
    output_partitions: int | None
    state_url: str
    revision: str

    @property
    def group_id(self) -> str:
        """The consumer group that holds committed input offsets; never joined (manual assignment)."""
        return f"invoker.{self.deployment}.{self.entity}"

    def transactional_id(self, partition: int) -> str:
        """One transactional id per input partition, so a new owner fences the old one (EOS per task)."""
        return f"invoker.{self.deployment}.{self.entity}.{self.input_topic}.{partition}"

    @property
    def runtime_key(self) -> tuple[object, ...]:
        """Fields whose change needs new clients and new claims; `revision` alone changes nothing."""
        return (
            self.deployment,
            self.entity,
            self.bootstrap_servers,
            self.input_topic,
            self.output_topic,
            self.output_partitions,
            self.state_url,
        )


@dataclass(frozen=True)
class PodConfig:
    """This pod's share of the entity's input partitions at one assignment epoch (`<pod>.json`)."""

    pod: str
    partitions: frozenset[int]
    epoch: int


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in data:
        raise ConfigError(f"{where}: missing field {name!r}")
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}.{name}: expected {kind}, got {value!r}")
    return value


def parse_main(data: Any, where: str = "main.json") -> MainConfig:
    """Validates and converts the decoded `main.json`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected an object")
    backend = _field(data, "stateBackend", dict, where)
    if backend.get("kind") != "redis":
        raise ConfigError(
            f"{where}.stateBackend.kind: only 'redis' is supported, got {backend.get('kind')!r}"
        )
    out_parts = data.get("outputPartitions")
    if out_parts is not None and (
        not isinstance(out_parts, int) or isinstance(out_parts, bool) or out_parts < 1
    ):
        raise ConfigError(f"{where}.outputPartitions: expected a positive integer or null, got {out_parts!r}")
    return MainConfig(
        deployment=_field(data, "deployment", str, where),
        entity=_field(data, "entity", str, where),
        bootstrap_servers=_field(data, "bootstrapServers", str, where),
        input_topic=_field(data, "inputTopic", str, where),
        output_topic=_field(data, "outputTopic", str, where),
        output_partitions=out_parts,
        state_url=_field(backend, "url", str, f"{where}.stateBackend"),
        revision=str(data.get("revision", "")),
    )


def parse_pod(data: Any, where: str) -> PodConfig:
    """Validates and converts the decoded `<pod>.json`; partitions may be strings, as in the CR."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected an object")
    raw = _field(data, "partitions", list, where)
    try:
        partitions = frozenset(int(p) for p in raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}.partitions: expected integers, got {raw!r}") from None
    if any(p < 0 for p in partitions):
        raise ConfigError(f"{where}.partitions: negative partition in {raw!r}")
    return PodConfig(
        pod=_field(data, "pod", str, where), partitions=partitions, epoch=_field(data, "epoch", int, where)
    )


def read_json(path: Path) -> Any:
    """Reads one JSON file, turning I/O and syntax errors into ConfigError."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot read ({exc.strerror})") from exc
    return decode_json(text, path.name)


def decode_json(text: str, name: str) -> Any:
    """Decodes one config file's text, from the mounted file or from the API alike."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}: not JSON (line {exc.lineno}: {exc.msg})") from exc
