"""The two config files of a pod, as the orchestrator writes them and the executor reads them.

One ConfigMap per entity holds ``main.json`` (what every pod of the entity shares) and one
``<pod>.json`` per pod (its partitions and the entity's assignment epoch). Every field here is
written by ``orchestrator/reconciler/convert.py`` and read by the executor; ``tests/contract`` checks both.
Parsing fails with the file and field named, so a broken ConfigMap is reported instead of
half-applied (the watcher then keeps the last good one). Unknown keys are ignored, so a pod
keeps working while an older or newer orchestrator rewrites its ConfigMap during an upgrade.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAIN_FILE = "main.json"
#: The only state backend the executor has.
STATE_BACKEND_KIND = "redis"


def pod_file(pod: str) -> str:
    """The file of one pod in its entity's ConfigMap."""
    return f"{pod}.json"


class ConfigError(ValueError):
    """A config file is missing, is not JSON, or a field has the wrong type."""


@dataclass(frozen=True)
class MainConfig:
    """Settings shared by every pod of one entity (``main.json``).

    ``output_partitions`` is the partition count of the output topic as the orchestrator wants
    it: the io sidecar creates a missing output topic with it and routes over at most that many
    partitions. None: the topic must exist, and its own count is used.
    """

    deployment: str
    entity: str
    bootstrap_servers: str
    input_topic: str
    output_topic: str
    output_partitions: int | None
    state_url: str

    @property
    def group_id(self) -> str:
        """The consumer group that holds committed input offsets; never joined (manual assignment)."""
        return f"invoker.{self.deployment}.{self.entity}"

    def transactional_id(self, partition: int) -> str:
        """One transactional id per input partition, so a new owner fences the old one (EOS per task)."""
        return f"invoker.{self.deployment}.{self.entity}.{self.input_topic}.{partition}"

    @property
    def runtime_key(self) -> tuple[object, ...]:
        """Fields whose change needs new clients and new claims (today: all of them)."""
        return (
            self.deployment,
            self.entity,
            self.bootstrap_servers,
            self.input_topic,
            self.output_topic,
            self.output_partitions,
            self.state_url,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "entity": self.entity,
            "bootstrapServers": self.bootstrap_servers,
            "inputTopic": self.input_topic,
            "outputTopic": self.output_topic,
            "outputPartitions": self.output_partitions,
            "stateBackend": {"kind": STATE_BACKEND_KIND, "url": self.state_url},
        }

    def to_json(self) -> str:
        """The file's text: sorted keys, no spaces, so equal configs give equal ConfigMaps."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def parse(cls, data: Any, where: str = MAIN_FILE) -> MainConfig:
        """Validates and converts the decoded ``main.json``."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected an object")
        backend = _field(data, "stateBackend", dict, where)
        if backend.get("kind") != STATE_BACKEND_KIND:
            raise ConfigError(
                f"{where}.stateBackend.kind: only 'redis' is supported, got {backend.get('kind')!r}"
            )
        out_parts = data.get("outputPartitions")
        if out_parts is not None and (
            not isinstance(out_parts, int) or isinstance(out_parts, bool) or out_parts < 1
        ):
            raise ConfigError(
                f"{where}.outputPartitions: expected a positive integer or null, got {out_parts!r}"
            )
        return cls(
            deployment=_field(data, "deployment", str, where),
            entity=_field(data, "entity", str, where),
            bootstrap_servers=_field(data, "bootstrapServers", str, where),
            input_topic=_field(data, "inputTopic", str, where),
            output_topic=_field(data, "outputTopic", str, where),
            output_partitions=out_parts,
            state_url=_field(backend, "url", str, f"{where}.stateBackend"),
        )


@dataclass(frozen=True)
class PodConfig:
    """This pod's share of the entity's input partitions at one assignment epoch (``<pod>.json``)."""

    pod: str
    partitions: frozenset[int]
    epoch: int

    def to_json(self) -> str:
        return pod_json(self.pod, self.partitions, self.epoch)

    @classmethod
    def parse(cls, data: Any, where: str) -> PodConfig:
        """Validates and converts the decoded ``<pod>.json``; partitions may be strings, as in the CR."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected an object")
        raw = _field(data, "partitions", list, where)
        try:
            partitions = frozenset(int(p) for p in raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}.partitions: expected integers, got {raw!r}") from None
        if any(p < 0 for p in partitions):
            raise ConfigError(f"{where}.partitions: negative partition in {raw!r}")
        pod, epoch = _field(data, "pod", str, where), _field(data, "epoch", int, where)
        return cls(pod=pod, partitions=partitions, epoch=epoch)


def pod_json(pod: str, partitions: Iterable[int], epoch: int) -> str:
    """``PodConfig(...).to_json()`` without building the value, written out by hand: ``json.dumps``
    per pod was the largest cost of converting a big deployment. Keys in sorted order, no spaces."""
    listed = ",".join(map(str, sorted(partitions)))
    return f'{{"epoch":{int(epoch)},"partitions":[{listed}],"pod":{json.dumps(pod)}}}'


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in data:
        raise ConfigError(f"{where}: missing field {name!r}")
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}.{name}: expected {kind}, got {value!r}")
    return value


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
