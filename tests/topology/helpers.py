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
