"""Where the executor pods may run: a nodeSelector and tolerations from the environment.

A cluster often keeps stream-processing pods on nodes of their own (labelled, and tainted so
nothing else lands there). The kubernetes backend hands this placement to convert, which puts
it in the pod template of every Deployment; so it is part of the desired state, and changing
the setting re-places the pods at the next reconcile. The local runtime has no nodes and
ignores it. The chart sets it from its ``executorPods`` values.

- ``INVOKER_POD_NODE_SELECTOR``: a JSON object of label to value, or ``key=value[,key=value]``.
- ``INVOKER_POD_TOLERATIONS``: a JSON list of Kubernetes tolerations, or
  ``key[=value][:Effect][,...]`` (kubectl's taint syntax: with a value the operator is
  ``Equal``, without one ``Exists``; no effect tolerates every effect of that key).

A malformed value fails loudly at start-up, naming the variable and what is wrong in it: a pod
placed on the wrong node, or never placed, is a worse way to find out.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NODE_SELECTOR_ENV = "INVOKER_POD_NODE_SELECTOR"
TOLERATIONS_ENV = "INVOKER_POD_TOLERATIONS"
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
OPERATORS = ("Equal", "Exists")
TOLERATION_FIELDS = {"key", "operator", "value", "effect", "tolerationSeconds"}
#: Workload kinds whose pod template gets the placement.
PLACED_KINDS = ("Deployment", "StatefulSet")
JSON_STARTS = ("{", "[")  # a value starting so is JSON; anything else the short form

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_NAME})?$")


class PlacementError(ValueError):
    """A placement setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Placement:
    """The nodeSelector and tolerations every executor pod gets (both empty: anywhere)."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Placement:
        """Reads both variables; raises PlacementError on a malformed one."""
        return cls(
            node_selector=parse_node_selector(environ.get(NODE_SELECTOR_ENV, "")),
            tolerations=parse_tolerations(environ.get(TOLERATIONS_ENV, "")),
        )

    def __bool__(self) -> bool:
        return bool(self.node_selector or self.tolerations)

    def applied(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """``manifest`` with the placement in its pod template (a copy; other kinds unchanged)."""
        if not self or manifest.get("kind") not in PLACED_KINDS:
            return manifest
        placed = copy.deepcopy(manifest)
        template = placed.setdefault("spec", {}).setdefault("template", {})
        template["spec"] = self.on_pod(template.get("spec", {}))
        return placed

    def on_pod(self, pod: Mapping[str, Any]) -> dict[str, Any]:
        """A pod spec with the placement (a shallow copy; ``pod`` is not changed). The setting's
        selector labels win over the pod's own; its tolerations are added, without repeats."""
        placed = dict(pod)
        if self.node_selector:
            placed["nodeSelector"] = {**pod.get("nodeSelector", {}), **self.node_selector}
        if self.tolerations:
            own = list(pod.get("tolerations", []))
            placed["tolerations"] = own + [dict(t) for t in self.tolerations if dict(t) not in own]
        return placed


def parse_node_selector(text: str) -> dict[str, str]:
    """``{"k": "v"}`` or ``k=v,k2=v2``; empty text: no selector."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith(JSON_STARTS):
        raw = _json(text, NODE_SELECTOR_ENV)
        if not isinstance(raw, dict):
            raise PlacementError(f"{NODE_SELECTOR_ENV}: expected a JSON object of label to value")
        pairs = list(raw.items())
    else:
        pairs = []
        for item in _items(text):
            key, sep, value = item.partition("=")
            if not sep:
                raise PlacementError(f"{NODE_SELECTOR_ENV}: {item!r} is not key=value")
            pairs.append((key.strip(), value.strip()))
    selector = {}
    for key, value in pairs:
        _check_label(key, value, NODE_SELECTOR_ENV)
        selector[key] = value
    return selector


def parse_tolerations(text: str) -> tuple[dict[str, Any], ...]:
    """A JSON list of tolerations, or ``key[=value][:Effect]`` items; empty text: none."""
    text = text.strip()
    if not text:
        return ()
    if text.startswith(JSON_STARTS):
        raw = _json(text, TOLERATIONS_ENV)
        if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
            raise PlacementError(f"{TOLERATIONS_ENV}: expected a JSON list of toleration objects")
        tolerations = [dict(t) for t in raw]
    else:
        tolerations = [_short_toleration(item) for item in _items(text)]
    for index, toleration in enumerate(tolerations):
        _check_toleration(toleration, f"{TOLERATIONS_ENV}[{index}]")
    return tuple(tolerations)


def _short_toleration(item: str) -> dict[str, Any]:
    head, _, effect = item.partition(":")
    key, sep, value = head.partition("=")
    toleration: dict[str, Any] = {"key": key.strip(), "operator": "Equal" if sep else "Exists"}
    if sep:
        toleration["value"] = value.strip()
    if effect.strip():
        toleration["effect"] = effect.strip()
    return toleration


def _check_toleration(toleration: dict[str, Any], where: str) -> None:
    unknown = sorted(set(toleration) - TOLERATION_FIELDS)
    if unknown:
        raise PlacementError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(TOLERATION_FIELDS)}")
    operator = toleration.get("operator", "Equal")
    if operator not in OPERATORS:
        raise PlacementError(f"{where}: operator {operator!r} is not one of {list(OPERATORS)}")
    key, value = toleration.get("key", ""), toleration.get("value", "")
    if not isinstance(key, str) or not isinstance(value, str):
        raise PlacementError(f"{where}: key and value must be strings")
    if operator == "Exists" and value:
        raise PlacementError(f"{where}: operator Exists takes no value (got {value!r})")
    if not key and operator != "Exists":
        raise PlacementError(f"{where}: a toleration without a key must use operator Exists")
    if key:
        _check_label(key, value, where)
    effect = toleration.get("effect", "")
    if effect and effect not in EFFECTS:
        raise PlacementError(f"{where}: effect {effect!r} is not one of {list(EFFECTS)}")
    seconds = toleration.get("tolerationSeconds")
    if seconds is not None and (type(seconds) is not int or effect != "NoExecute"):
        raise PlacementError(f"{where}: tolerationSeconds must be an integer, and only with effect NoExecute")


def _check_label(key: object, value: object, where: str) -> None:
    if not isinstance(key, str) or not _LABEL_KEY.match(key):
        raise PlacementError(f"{where}: {key!r} is not a valid label key")
    if not isinstance(value, str) or not _LABEL_VALUE.match(value):
        raise PlacementError(f"{where}: {value!r} (for {key}) is not a valid label value")


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlacementError(f"{where}: not valid JSON ({exc})") from exc


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]
