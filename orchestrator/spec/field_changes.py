"""What an update would change in one live object, down to the field, for a dry run to print:
``ConfigMap word-count-demo.splitter: splitter-0.json partitions [0,1] -> [0,1,2]``.

The reconcile applies manifests server-side, so it owns only the fields it sends: the live
object's other fields (``uid``, ``resourceVersion``, the API server's defaults, ``status``) are
not changes. The live object is therefore first cut down to the shape of the desired manifest,
then compared with :func:`orchestrator.spec.revisions.diff_specs` (named list items, like containers,
matched by name). A ConfigMap's data values that hold JSON (``<pod>.json``) are compared as
JSON, so a changed partition list reads as that, not as two long strings; a data key the
manifest no longer has is a removal, since the reconcile replaces the data whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.spec.revisions import diff_specs


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any
    change: str

    def describe(self) -> str:
        """``path old -> new``; an added field shows only ``+ new``, a removed one ``- old``."""
        if self.change == "added":
            return f"{self.path} + {_compact(self.new)}"
        if self.change == "removed":
            return f"{self.path} - {_compact(self.old)}"
        return f"{self.path} {_compact(self.old)} -> {_compact(self.new)}"


def field_changes(live: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> list[FieldChange]:
    """The fields of ``desired`` whose values ``live`` does not have (all of them if ``live`` is
    None), ConfigMap data compared key by key as JSON where it parses."""
    live = live or {}
    rest = {key: value for key, value in desired.items() if key != "data"}
    changes = _diff(prune(live, rest), rest, "")
    if desired.get("kind") == "ConfigMap" or "data" in desired:
        changes += _data_changes(live.get("data") or {}, desired.get("data") or {})
    return changes


def describe_changes(kind: str, name: str, changes: list[FieldChange]) -> list[str]:
    """One line per field: ``<kind> <name>: <path> <old> -> <new>``."""
    return [f"{kind} {name}: {change.describe()}" for change in changes]


def prune(live: Any, desired: Any) -> Any:
    """``live`` cut down to the keys (and named list items) that ``desired`` has."""
    if isinstance(live, Mapping) and isinstance(desired, Mapping):
        return {key: prune(live[key], value) for key, value in desired.items() if key in live}
    if isinstance(live, list) and isinstance(desired, list) and desired and _named(desired):
        wanted = {item["name"]: item for item in desired}
        return [
            prune(item, wanted[item.get("name")]) if item.get("name") in wanted else item for item in live
        ]
    if isinstance(live, list) and isinstance(desired, list) and len(live) == len(desired):
        return [prune(old, new) for old, new in zip(live, desired, strict=True)]
    return live


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, Mapping) and isinstance(item.get("name"), str) for item in items)


def _data_changes(live: Mapping[str, str], desired: Mapping[str, str]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for key, value in desired.items():
        if key not in live:
            changes.append(FieldChange(key, None, _json_or_text(value), "added"))
            continue
        old, new = _json_or_text(live[key]), _json_or_text(value)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changes += [FieldChange(f"{key} {c.path}", c.old, c.new, c.change) for c in _diff(old, new, "")]
        elif old != new:
            changes.append(FieldChange(key, old, new, "changed"))
    changes += [
        FieldChange(key, _json_or_text(value), None, "removed")
        for key, value in live.items()
        if key not in desired
    ]
    return changes


def _diff(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str) -> list[FieldChange]:
    return [FieldChange(prefix + c["path"], c["old"], c["new"], c["change"]) for c in diff_specs(old, new)]


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
