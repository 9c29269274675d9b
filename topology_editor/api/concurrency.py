"""Optimistic concurrency: every response about a deployment carries its version as a strong
``ETag`` (``"7"``); a write may send it back in ``If-Match`` (or in ``metadata.resourceVersion``
of a manifest, or ``resource_version`` of an action's body), and is refused with 412 and
``stale_version`` if the deployment has changed since.

``If-Match: *`` matches any version; a tag this API never issued (weak, not a number, or a
number of more digits than a version can have) matches none, so such a write is refused too
(RFC 9110, section 13.1.1).
"""

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from topology_editor.api.errors import ApiError, invalid_request
from topology_editor.models import Deployment

NEVER_MATCHES = -1
#: Versions are 64-bit counters: 19 digits at most. Longer ones are never turned into ints
#: (Python refuses more than 4,300 digits with a ValueError, which was a 500).
MAX_VERSION_DIGITS = 19


def etag(deployment: Deployment) -> str:
    return f'"{deployment.resource_version}"'


def with_etag(response: Response, deployment: Deployment) -> Response:
    response["ETag"] = etag(deployment)
    return response


def expected_version(request: Request, body_version: Any = None, body_path: str = "") -> int | None:
    """The version a write is based on, from ``If-Match`` and/or a body field, or ``None``."""
    header = _from_if_match(request.headers.get("If-Match"))
    field = _from_body(body_version, body_path) if body_version is not None else None
    if header is not None and field is not None and header != field:
        raise ApiError(
            412, "stale_version", f"If-Match and {body_path} name different versions ({header} and {field})"
        )
    return header if header is not None else field


def _from_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    tag = value.strip()
    if len(tag) >= 2 and tag[0] == tag[-1] == '"':
        return _version_number(tag[1:-1])
    return NEVER_MATCHES


def _version_number(digits: str) -> int:
    if digits.isascii() and digits.isdigit() and len(digits) <= MAX_VERSION_DIGITS:
        return int(digits)
    return NEVER_MATCHES


def _from_body(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isascii():
        raise invalid_request(path, 'must be the resourceVersion you read, e.g. "3"', "invalid_type")
    if not str(value).isdigit():
        raise invalid_request(path, f"must be a number, got {value!r}", "invalid_value")
    return _version_number(str(value))
