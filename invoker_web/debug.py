"""What Django's error reports (the DEBUG page, the admins' error mails) may show.

Django's own filter hides settings whose *names* look secret (``SECRET_KEY``, ``PASSWORD``),
but a password inside a URL (``REDIS_URL=redis://:pw@host``, ``CELERY_BROKER_URL``, the
channel layer's hosts, a ``DATABASE_URL`` kept in a frame's locals) sits under an innocent
name. This filter masks the password of every URL in every string it cleanses: settings at any
depth, the request's META, and the local variables of the traceback's frames.
"""

import re
from typing import Any

from django.template.defaultfilters import pprint
from django.views.debug import SafeExceptionReporterFilter

#: ``scheme://user:password@`` (the user may be empty, as in ``redis://:password@host``).
_CREDENTIALS = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:@/\s]*:)(?P<password>[^@/\s]+)(?=@)")
#: ``?password=...`` and the like in a query string.
_QUERY_SECRET = re.compile(r"(?P<head>[?&][^=&\s]*(?:pass|secret|token|key)[^=&\s]*=)[^&\s#]*", re.I)


def mask_credentials(text: str) -> str:
    """``text`` with the password of every URL in it (and secret query values) replaced by stars."""
    text = str(text)  # lazy strings (settings of third-party apps) are str only by proxy
    masked = _CREDENTIALS.sub(lambda m: m["head"] + SafeExceptionReporterFilter.cleansed_substitute, text)
    return _QUERY_SECRET.sub(lambda m: m["head"] + SafeExceptionReporterFilter.cleansed_substitute, masked)


class CredentialMaskingFilter(SafeExceptionReporterFilter):
    """Django's filter, plus the passwords of URLs (see the module's docstring)."""

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        # Django's version recurses into dicts, lists and tuples through this method.
        cleansed = super().cleanse_setting(key, value)
        return mask_credentials(cleansed) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> list[tuple[str, Any]]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._masked_value(value)) for name, value in variables]

    def _masked_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return mask_credentials(value)
        text = pprint(value)  # what the page would print: objects whose repr holds a URL too
        masked = mask_credentials(text)
        return value if masked == text else _Shown(masked)


class _Shown:
    """A value the report prints as the given (already masked) text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text
