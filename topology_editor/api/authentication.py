"""Session authentication whose CSRF check never parses the request body.

DRF's ``SessionAuthentication`` hands its own ``Request`` to Django's CSRF check, and that
check reads ``request.POST``, which DRF answers by running the view's parsers: a YAML or JSON
body was parsed during authentication, before the role check, so a signed-in user with no role
(and no CSRF token) could make a worker load a 470-byte YAML merge bomb. Here the check gets
Django's own request, whose ``POST`` reads only form bodies (``application/x-www-form-urlencoded``
and ``multipart/form-data``, where a form's ``csrfmiddlewaretoken`` field lives, within Django's
upload limits); for any other body the token must come in the ``X-CSRFToken`` header, as the
dashboard sends it, and the body stays unread until the view asks for it after the permission
checks.
"""

from typing import Any

from drf_spectacular import authentication as spectacular_authentication
from rest_framework import authentication
from rest_framework.request import Request


class SessionAuthentication(authentication.SessionAuthentication):
    def enforce_csrf(self, request: Request) -> None:
        django_request: Any = request._request
        super().enforce_csrf(django_request)


class SessionScheme(spectacular_authentication.SessionScheme):
    """Documents it in the schema as DRF's own (drf-spectacular matches that exact class only)."""

    target_class = SessionAuthentication
