"""Websockets only from our own pages: the handshake's ``Origin`` must be the very origin the
socket was opened on (scheme, host *and* port), or one listed in ``CSRF_TRUSTED_ORIGINS``.

Browsers send cookies with a websocket handshake whatever page opened it, and no CSRF token
protects it, so the origin is the only proof that one of our pages asked. Channels'
``AllowedHostsOriginValidator`` compares the origin's host with ``ALLOWED_HOSTS`` and ignores
the port and scheme: another local service on ``http://localhost:9999`` could open a socket
to the dashboard on port 8000 with the user's session. Django's CSRF check compares the whole
origin with the request's own, and so does this one. The ``Host`` must be allowed as for any
request. A refused handshake gets an HTTP 403 (Channels' ``WebsocketDenier``).
"""

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> Origin | None:
    """``(scheme, host, port)`` of an origin such as ``http://127.0.0.1:8000``; None if malformed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {name.decode("latin1").lower(): value.decode("latin1") for name, value in scope.get("headers", [])}


def _is_secure(scope: dict[str, Any], headers: dict[str, str]) -> bool:
    """As Django's ``request.is_secure()``: the connection's scheme, or the proxy's header that
    ``SECURE_PROXY_SSL_HEADER`` names."""
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    name, value = proxy_header
    header = name.removeprefix("HTTP_").replace("_", "-").lower()
    return headers.get(header, "").split(",")[0].strip() == value


def allowed(scope: dict[str, Any]) -> bool:
    """Whether a websocket handshake comes from one of our own pages (see the module)."""
    headers = _headers(scope)
    host = headers.get("host", "")
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    origin = _origin(headers.get("origin", ""))
    if origin is None:
        return False
    own = _origin(f"{'https' if _is_secure(scope, headers) else 'http'}://{host}")
    trusted = {_origin(url) for url in settings.CSRF_TRUSTED_ORIGINS}
    return origin == own or origin in trusted


class SameOriginValidator:
    """ASGI middleware for the websocket router: refuses handshakes that :func:`allowed` refuses."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
