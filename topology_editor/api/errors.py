"""One error shape for every API response that is not a success::

    {"error": {"code": "invalid_spec", "message": "...",
               "fields": [{"path": "spec.statefulEntities[0].pods[1].partitions[0]",
                           "message": "...", "code": "duplicate"}]}}

``code`` is stable and machine-readable; ``fields`` lists what was wrong where (empty when no
field is at fault). The codes: ``invalid_spec``, ``invalid_yaml``, ``invalid_request``,
``malformed_request`` (400), ``not_authenticated`` (401), ``permission_denied`` (403),
``not_found`` (404), ``method_not_allowed`` (405), ``not_acceptable`` (406), ``conflict``
(409), ``stale_version`` (412), ``too_large`` (413), ``unsupported_media_type`` (415),
``throttled`` (429), ``server_error`` (500), ``busy`` (503, with ``Retry-After``: other writes
held the database's lock longer than ``DATABASE_LOCK_TIMEOUT_SECONDS``; nothing changed). Spec
rejections keep the validator's paths and codes; request fields use their own names
(``to_pod``, ``metadata.resourceVersion``). URLs under ``/api/`` that match no route get the
same shape from :func:`not_found`.

``fields`` lists at most 100 problems: when the validator found more, a last entry with path
``""`` and code ``too_many_errors`` says how many more ("99900 more problems were found; only
the first 100 are listed"). A body over Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB), a
manifest over 1 MiB and a document with more values than any manifest are all ``too_large``
(413); JSON nested deeper than any manifest is ``malformed_request``.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db.models import ProtectedError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import set_rollback

from orchestrator import SpecError
from orchestrator.spec.fields import TOO_MANY_ERRORS
from topology_editor import services

logger = logging.getLogger(__name__)

Fields = list[dict[str, str]]

#: DRF's own exceptions, by the code this API gives them.
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.ParseError, "malformed_request"),
    (exceptions.ValidationError, "invalid_request"),
    (exceptions.Throttled, "throttled"),
]
_SERVICE_STATUS = {
    services.NotFoundError: status.HTTP_404_NOT_FOUND,
    services.StaleVersionError: status.HTTP_412_PRECONDITION_FAILED,
    services.ConflictError: status.HTTP_409_CONFLICT,
    services.InvalidRequestError: status.HTTP_400_BAD_REQUEST,
    services.RoleError: status.HTTP_403_FORBIDDEN,
    services.BusyError: status.HTTP_503_SERVICE_UNAVAILABLE,
}


class ApiError(exceptions.APIException):
    """An error with this API's code and field paths; raise it from views."""

    def __init__(self, status_code: int, code: str, message: str, fields: Fields | None = None) -> None:
        super().__init__(message, code)
        self.status_code, self.error_code, self.message, self.fields = (
            status_code,
            code,
            message,
            fields or [],
        )


def invalid_request(path: str, message: str, code: str = "invalid_value") -> ApiError:
    """A request field (not the spec) at ``path`` is wrong."""
    return ApiError(
        400, "invalid_request", f"{path}: {message}", [{"path": path, "message": message, "code": code}]
    )


def body(code: str, message: str, fields: Fields | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or []}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every known exception as :func:`body`, with DRF's headers
    (``WWW-Authenticate``, ``Retry-After``) and the transaction rolled back."""
    error = as_api_error(exc)
    if error is None:
        return None
    _answer_in_json(context.get("request"))
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    wait = getattr(exc, "wait", None) or getattr(exc, "retry_after_seconds", None)
    if wait:
        headers["Retry-After"] = str(int(wait))
    set_rollback()
    return Response(
        body(error.error_code, error.message, error.fields), status=error.status_code, headers=headers
    )


def _answer_in_json(request: Any) -> None:
    """Errors are JSON (or the browsable API's page), even where the answer would have been
    YAML or an OpenAPI document."""
    if request is not None and not isinstance(
        getattr(request, "accepted_renderer", None), JSONRenderer | BrowsableAPIRenderer
    ):
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"


def as_api_error(exc: Exception) -> ApiError | None:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, SpecError):
        return _spec_error(exc)
    if isinstance(exc, services.ServiceError):
        return _service_error(exc)
    if isinstance(exc, ProtectedError):
        return _protected_error(exc)
    if isinstance(exc, Http404):
        return ApiError(404, "not_found", str(exc) or "not found")
    if isinstance(exc, DjangoPermissionDenied):
        return ApiError(403, "permission_denied", str(exc) or "permission denied")
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return _upload_too_large(exc)
    if isinstance(exc, exceptions.APIException):
        return _drf_error(exc)
    return None


def _spec_error(exc: SpecError) -> ApiError:
    fields = exc.as_dicts()
    if any(field["code"] == "too_large" for field in fields):
        return ApiError(413, "too_large", str(exc), fields)
    if any(field["path"] == "yaml" for field in fields):
        return ApiError(400, "invalid_yaml", f"the YAML could not be read: {exc}", fields)
    listed = [field for field in fields if field["code"] != TOO_MANY_ERRORS]
    first = str(exc.errors[0]) if exc.errors else "rejected"
    more = f" (and {len(listed) - 1} more problems)" if len(listed) > 1 else ""
    if len(listed) < len(fields):
        more += f"; {fields[-1]['message']}"
    return ApiError(400, "invalid_spec", f"the spec is invalid: {first}{more}", fields)


def _upload_too_large(exc: Exception) -> ApiError:
    """Django's upload limits (``DATA_UPLOAD_MAX_MEMORY_SIZE`` and the field and file counts),
    which Django itself would answer with an HTML 400."""
    if isinstance(exc, RequestDataTooBig):
        message = f"the request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes"
    else:
        message = f"the request has too many form fields or files ({exc})"
    return ApiError(413, "too_large", message)


def _service_error(exc: services.ServiceError) -> ApiError:
    fields = exc.as_dicts() if isinstance(exc, services.InvalidRequestError) else []
    return ApiError(_SERVICE_STATUS.get(type(exc), 400), exc.code, exc.message, fields)


def _protected_error(exc: ProtectedError) -> ApiError:
    dependents = [
        {"path": str(obj), "message": "depends on it", "code": "protected"} for obj in exc.protected_objects
    ]
    return ApiError(409, "conflict", "it is still in use", dependents)


def _drf_error(exc: exceptions.APIException) -> ApiError:
    code = next((code for kind, code in _DRF_CODES if isinstance(exc, kind)), exc.default_code)
    if isinstance(exc, exceptions.ValidationError):
        fields = list(_flatten(exc.detail, ""))
        message = "; ".join(f"{f['path']}: {f['message']}" if f["path"] else f["message"] for f in fields)
        return ApiError(exc.status_code, code, message or "invalid request", fields)
    return ApiError(exc.status_code, code, str(exc.detail))


def _flatten(detail: Any, path: str):  # type: ignore[no-untyped-def]
    """DRF's nested ``{"field": ["message"]}`` as ``{"path", "message", "code"}`` entries."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            child = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            if isinstance(key, int):  # a list serializer's errors come keyed by the item's index
                child = f"{path}[{key}]"
            yield from _flatten(value, child)
    elif isinstance(detail, list):
        nested = any(isinstance(item, dict | list) for item in detail)
        for i, item in enumerate(detail):
            yield from _flatten(item, f"{path}[{i}]" if nested else path)
    else:
        yield {"path": path, "message": str(detail), "code": getattr(detail, "code", "invalid")}


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: the API's shape under ``/api/``, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(body("not_found", f"no API route at {request.path}"), status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # it changes nothing; a POST to a wrong URL is told so, not refused for its token
def unknown_route(request: HttpRequest, path: str = "") -> HttpResponse:
    """The last route under ``/api/``: what no other route matched, in the API's shape whatever
    ``DEBUG`` says (``handler404`` is not used when it is on, as in ``./dev up``). A URL that only
    lacks its trailing slash is redirected for a read, as ``APPEND_SLASH`` would, and named for a
    write: Django would answer a POST there with a 500 in ``DEBUG``, and a redirect would turn it
    into a GET elsewhere."""
    slashed = f"{request.path}/"
    if not request.path.endswith("/") and _routed(f"{request.path_info}/"):
        if request.method in ("GET", "HEAD"):
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(f"{slashed}?{query}" if query else slashed)
        message = f"no API route at {request.path}: the URL needs its trailing slash, {slashed}"
    else:
        message = f"no API route at {request.path} (the routes are listed at /api/schema/)"
    return JsonResponse(body("not_found", message), status=404)


def _routed(url: str) -> bool:
    try:
        return resolve(url).func is not unknown_route
    except Resolver404:
        return False


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the API's shape under ``/api/``, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(body("server_error", "the server failed; the error was logged"), status=500)
    return defaults.server_error(request)
