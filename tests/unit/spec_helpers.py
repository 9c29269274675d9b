"""Shared helpers for the spec tests: the example manifest, and editing a manifest by the same
field paths that errors name (``spec.statefulEntities[0].pods[1].partitions[2]``)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from orchestrator import FieldError, SpecError, load_manifest_yaml, parse_deployment

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "examples" / "word-count.yaml"
_SEGMENT_RE = re.compile(r"([A-Za-z][\w-]*)|\[(\d+)\]")


def example_manifest() -> dict[str, Any]:
    """A fresh copy of the project's word-count example, as loaded from YAML."""
    return load_manifest_yaml(EXAMPLE_PATH.read_text())


def _segments(path: str) -> list[str | int]:
    return [name or int(index) for name, index in _SEGMENT_RE.findall(path)]


def _parent(manifest: Any, path: str) -> tuple[Any, str | int]:
    *parents, last = _segments(path)
    node = manifest
    for segment in parents:
        node = node[segment]
    return node, last


def changed(manifest: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``manifest`` with the field at ``path`` set (or appended, one past a list's end)."""
    result = copy.deepcopy(manifest)
    node, last = _parent(result, path)
    if isinstance(node, list) and last == len(node):
        node.append(value)
    else:
        node[last] = value
    return result


def without(manifest: dict[str, Any], path: str) -> dict[str, Any]:
    """A copy of ``manifest`` without the field at ``path``."""
    result = copy.deepcopy(manifest)
    node, last = _parent(result, path)
    del node[last]
    return result


def get(manifest: Any, path: str) -> Any:
    node, last = _parent(manifest, path)
    return node[last]


def rejection(manifest: object) -> list[FieldError]:
    """The errors ``parse_deployment`` raises for ``manifest``; fails if it is accepted."""
    with pytest.raises(SpecError) as raised:
        parse_deployment(manifest)
    assert raised.value.errors, "a SpecError must carry at least one FieldError"
    return raised.value.errors


def merge_key_bomb(levels: int = 7) -> str:
    """Each level merges the one before it ten times: 470 bytes for 7 levels, which cost PyYAML's
    merging about 16 s and 235 MB (ten times more per extra level)."""
    lines = ["l0: &l0 {a: 1}"]
    lines += [f"l{i}: &l{i} {{<<: [{', '.join([f'*l{i - 1}'] * 10)}]}}" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"
