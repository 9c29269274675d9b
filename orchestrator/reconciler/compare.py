"""Does a live object already say what a manifest says?

The API server adds defaults (a ConfigMap volume's ``defaultMode``, a fieldRef's
``apiVersion``, ...) and normalises quantities (``0.5`` CPU comes back as ``500m``), so a live
object is never equal to the manifest that made it. It *satisfies* the manifest when every
field the manifest sets is present with the same value; quantities compare by amount.
"""

from __future__ import annotations

from typing import Any

from kubernetes.utils.quantity import parse_quantity

from orchestrator.reconciler.convert import ANNOTATION_REVISION

#: Fields compared for each kind; the rest of the object belongs to the server or to others.
COMPARED_FIELDS = {
    "ConfigMap": ("data",),
    "Deployment": ("spec",),
    "Role": ("rules",),
    "RoleBinding": ("roleRef", "subjects"),
}


def satisfies(live: Any, desired: Any, in_resources: bool = False) -> bool:
    """True when ``live`` holds every field of ``desired`` with an equal value."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        return all(
            key in live and satisfies(live[key], value, in_resources or key == "resources")
            for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(satisfies(a, b, in_resources) for a, b in zip(live, desired, strict=True))
        )
    if in_resources and isinstance(desired, str) and isinstance(live, str):
        return _same_quantity(live, desired)
    return live == desired


def _same_quantity(a: str, b: str) -> bool:
    try:
        return parse_quantity(a) == parse_quantity(b)
    except ValueError:
        return a == b


def object_satisfies(live: dict[str, Any], desired: dict[str, Any]) -> bool:
    """The whole-object check: the managed fields, the labels and the owner. The revision
    annotation is left out on purpose: it records the revision that last changed the object,
    and must not by itself cause a write."""
    fields = COMPARED_FIELDS.get(desired["kind"], ())
    if not all(satisfies(live.get(name), desired.get(name)) for name in fields):
        return False
    live_meta, desired_meta = live.get("metadata", {}), desired.get("metadata", {})
    desired_annotations = {
        k: v for k, v in desired_meta.get("annotations", {}).items() if k != ANNOTATION_REVISION
    }
    return (
        satisfies(live_meta.get("labels", {}), desired_meta.get("labels", {}))
        and satisfies(live_meta.get("annotations", {}), desired_annotations)
        and _same_owners(live_meta.get("ownerReferences", []), desired_meta.get("ownerReferences", []))
    )


def _same_owners(live: list[dict[str, Any]], desired: list[dict[str, Any]]) -> bool:
    return {ref.get("uid") for ref in live} >= {ref.get("uid") for ref in desired}


def template_changed(live: dict[str, Any], desired: dict[str, Any]) -> bool:
    """A change of a workload's pod template replaces its pods; anything else does not."""
    live_template = live.get("spec", {}).get("template")
    return not satisfies(live_template, desired["spec"]["template"])
