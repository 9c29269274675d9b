"""The InvokerDeployment CustomResourceDefinition, generated from :mod:`orchestrator.spec.schema`.

The chart's copy (``charts/invoker/crds/invokerdeployments.yaml``) is this module's output; a
test fails when they differ. Regenerate it after changing the declaration::

    python -m orchestrator.spec.crd_schema --write     # or --check: exit 1 when the copy is stale

The schema is structural (Kubernetes' rules: no ``$ref``, no ``anyOf`` types) and no stricter
than the types, enums, minimums and required keys: the orchestrator's validator reports every
other problem with its path, which the API server would refuse with a less useful message.
Defaults are left out, so the API server stores a spec as it was written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from orchestrator.spec.model import API_VERSION, KIND
from orchestrator.spec.schema import INT_OR_STRING, DeploymentSpec
from orchestrator.spec.status_schema import DeploymentStatus

CHART_COPY = Path(__file__).resolve().parents[2] / "charts/invoker/crds/invokerdeployments.yaml"
GROUP, VERSION = API_VERSION.split("/")
PLURAL = "invokerdeployments"
HEADER = """\
# The root object of every Invoker deployment: it holds the spec and the status the dashboard
# shows, and owns (ownerReferences) every ConfigMap and workload the orchestrator creates.
# Generated from orchestrator/spec/schema.py by `python -m orchestrator.spec.crd_schema --write`;
# do not edit by hand (tests/unit/test_spec_schema.py checks it).
"""
PRINTER_COLUMNS = [
    {"name": "State", "type": "string", "jsonPath": ".status.state"},
    {"name": "Current", "type": "string", "jsonPath": ".status.currentRevision"},
    {"name": "Next", "type": "string", "jsonPath": ".status.nextRevision"},
    {"name": "Pods", "type": "string", "jsonPath": ".status.components.podsReady"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
#: The keywords a CRD's schema keeps, in the order they are written.
_KEPT = ("description", "type", "format", "enum", "minimum", "nullable", "required")


def crd() -> dict[str, Any]:
    """The whole CustomResourceDefinition as a dict."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": KIND.lower(),
                "shortNames": ["invdep"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": openapi_schema()},
                }
            ],
        },
    }


def openapi_schema() -> dict[str, Any]:
    """The resource's ``openAPIV3Schema``: the spec and the status (Kubernetes owns the rest)."""
    properties = {"spec": DeploymentSpec, "status": DeploymentStatus}
    return {
        "type": "object",
        "properties": {
            key: structural(model.model_json_schema(by_alias=True)) for key, model in properties.items()
        },
    }


def structural(schema: dict[str, Any]) -> dict[str, Any]:
    """A Pydantic JSON schema as a structural CRD schema: references inlined, ``X | None``
    as ``X``, int-or-string as Kubernetes spells it, and only the :data:`_KEPT` keywords."""
    return _node(schema, schema.get("$defs", {}))


def _node(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _node({**defs[schema["$ref"].rsplit("/", 1)[1]], **_without(schema, "$ref")}, defs)
    if "anyOf" in schema:
        kept = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _node({**kept[0], **_without(schema, "anyOf")}, defs)
    if schema.get(INT_OR_STRING):
        return {INT_OR_STRING: True}
    node = {key: schema[key] for key in _KEPT if key in schema}
    if "properties" in schema:
        node["properties"] = {key: _node(value, defs) for key, value in schema["properties"].items()}
    if "items" in schema:
        node["items"] = _node(schema["items"], defs)
    node.update({key: value for key, value in schema.items() if key.startswith("x-kubernetes-")})
    return node


def _without(schema: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != key}


def crd_yaml() -> str:
    """The chart's file: :data:`HEADER` and the CRD in block YAML, keys in a fixed order."""
    return HEADER + yaml.safe_dump(crd(), sort_keys=False, width=110)


def main(argv: list[str] | None = None) -> int:
    """``--write`` the chart's copy, or ``--check`` that it is current (exit status 1 if not)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the chart's copy is stale")
    parser.add_argument("--write", action="store_true", help="write the chart's copy")
    args = parser.parse_args(argv)
    text = crd_yaml()
    if args.write:
        CHART_COPY.write_text(text)
    elif args.check and CHART_COPY.read_text() != text:
        print(f"{CHART_COPY} is stale: run python -m orchestrator.spec.crd_schema --write", file=sys.stderr)
        return 1
    elif not args.check:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
