"""Brute force: sign-in failures are counted per account and per client address (django-axes,
in the Redis cache every process shares), and API requests per user (DRF's throttling).

- An account whose password failed ``INVOKER_LOGIN_FAILURES_PER_ACCOUNT`` times is locked,
  from every address, for ``INVOKER_LOGIN_LOCKOUT_MINUTES`` after its last failure: guessing one
  password is slow whoever guesses. The same address may still sign in to other accounts.
- An address whose sign-ins (any account, and any API token) failed
  ``INVOKER_LOGIN_FAILURES_PER_ADDRESS`` times is locked for as long: trying a few passwords on
  many accounts, or tokens, is slow too. The limit is higher than the account's because several
  people may share an address (a NAT, a proxy).
- A locked sign-in gets 429 with ``Retry-After``: an HTML page from the login forms
  (``/accounts/login/``, ``/admin/login/``, ``/api/auth/login/``), the API's error body
  (``throttled``) from a token. A locked account's right password is refused like a wrong one.
- Each user's API requests are limited to ``INVOKER_API_RATE_PER_USER`` (``"1200/minute"``).

Axes keeps one counter per key; :class:`TieredCacheHandler` gives the account's key and the
address's key their own limits, which Axes alone cannot.
"""

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.cache import AxesCacheHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cache, get_client_cache_keys, get_client_username
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions, throttling
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.request import Request


def lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


class TieredCacheHandler(AxesCacheHandler):
    """Axes' cache handler with two limits: ``AXES_FAILURE_LIMIT`` for an account's failures,
    ``INVOKER_LOGIN_FAILURES_PER_ADDRESS`` for an address's (``AXES_LOCKOUT_PARAMETERS`` is
    ``["username", "ip_address"]``, so the keys come in that order)."""

    def __init__(self) -> None:  # the cache is looked up on use, so that changed settings apply
        pass

    @property
    def cache(self) -> BaseCache:
        return get_cache()

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        account_key, address_key = get_client_cache_keys(request, credentials)
        account = get_client_username(request, credentials)  # none for a token
        if account and self.cache.get(account_key, 0) >= settings.AXES_FAILURE_LIMIT:
            return True
        return self.cache.get(address_key, 0) >= settings.INVOKER_LOGIN_FAILURES_PER_ADDRESS

    def user_login_failed(self, sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None:  # Axes decided with the larger count and one limit: decide again
            request.axes_locked_out = self.is_locked(request, credentials)
            request.axes_credentials = credentials


class LoginLockoutBackend(AxesStandaloneBackend):
    """Axes' backend (refuses a locked account or address before the password is checked),
    except for calls without a request: management commands and shells, not network clients."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is not None:
            super().authenticate(request, *args, **kwargs)


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: 429 with ``Retry-After``; JSON under ``/api/`` except the
    browsable API's login form, a page elsewhere."""
    from topology_editor.api.errors import body  # here: it imports DRF's views, which import this module

    seconds = lockout_seconds()
    message = f"too many failed sign-ins; try again in {max(1, round(seconds / 60))} minutes"
    if request.path.startswith("/api/") and not request.path.startswith("/api/auth/"):
        response: HttpResponse = JsonResponse(body("throttled", message), status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response


class LockoutTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, counting a wrong token as a failed sign-in of its address
    (no account is known) and refusing a locked address with 429 before looking the token up."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        credentials = {"username": None}  # no account: only the address's counter applies
        if not AxesProxyHandler.is_allowed(request._request, credentials):
            raise exceptions.Throttled(wait=lockout_seconds(), detail="too many failed sign-ins from here")
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            user_login_failed.send(sender=__name__, credentials=credentials, request=request._request)
            raise


class UserRateThrottle(throttling.UserRateThrottle):
    """DRF's per-user throttle, its rate read from ``INVOKER_API_RATE_PER_USER`` on each request
    (DRF's own ``THROTTLE_RATES`` is read once, at import)."""

    def get_rate(self) -> str:
        return settings.INVOKER_API_RATE_PER_USER
