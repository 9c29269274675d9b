"""Documents the API's one error shape on every operation of the OpenAPI schema
(a drf-spectacular post-processing hook)."""

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "example": "invalid_spec"},
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path", "message", "code"],
                        "properties": {
                            "path": {
                                "type": "string",
                                "example": "spec.statefulEntities[0].pods[1].partitions[0]",
                            },
                            "message": {"type": "string"},
                            "code": {"type": "string", "example": "duplicate"},
                        },
                    },
                },
            },
        }
    },
}
_REF = {"$ref": "#/components/schemas/Error"}
_ALWAYS = {"401": "not_authenticated", "403": "permission_denied", "404": "not_found"}
_WRITES = {
    "400": "invalid_spec, invalid_request, invalid_yaml, malformed_request",
    "409": "conflict",
    "412": "stale_version",
    "413": "too_large",
    "503": "busy",
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            codes = {**_ALWAYS, **(_WRITES if method != "get" else {"400": "invalid_request"})}
            for status, code in codes.items():
                operation["responses"].setdefault(status, _response(code))
            operation["responses"].setdefault("default", _response("any other error"))
    return result


def _response(codes: str) -> dict[str, Any]:
    return {"description": f"error ({codes})", "content": {"application/json": {"schema": _REF}}}
