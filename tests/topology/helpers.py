"""Reading the API's answers in tests."""

from typing import Any

from rest_framework.response import Response


def error(response: Response) -> tuple[int, str, list[tuple[str, str]]]:
    """``(status, code, [(path, field code)...])`` of an error response, checking its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"], body
    fields = [(field["path"], field["code"]) for field in body["error"]["fields"]]
    return response.status_code, body["error"]["code"], fields


def deployment_url(name: str, *rest: str) -> str:
    return "/api/deployments/" + "/".join((name, *rest)) + "/"


def manifest_with(manifest: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """``manifest`` with some ``spec`` fields replaced."""
    return {**manifest, "spec": {**manifest["spec"], **spec}}


def scale_out_totals(deployment: str) -> None:
    """Two more, empty, pods for the example's ``totals`` (which holds all six partitions)."""
    from topology_editor import services
    from topology_editor.models import Interface

    for name in ("totals-1", "totals-2"):
        services.add_pod(deployment, "totals", {"name": name}, actor=None, interface=Interface.CLI)


def totals_partitions() -> dict[str, tuple[int, ...]]:
    """The partitions of each ``totals`` pod in the (one) deployment's stored spec."""
    from topology_editor.models import Deployment
    from topology_editor.spec_rows import spec_from_rows

    return {
        pod.name: pod.partitions for pod in spec_from_rows(Deployment.objects.get()).entity("totals").pods
    }
