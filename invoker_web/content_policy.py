"""Where the Content-Security-Policy (settings.CONTENT_SECURITY_POLICY) is widened, and why.

DRF's browsable API renders templates of its own with ``style`` attributes and an inline
``<style>``; those pages alone also allow inline *styles* (never scripts), through django-csp's
per-response update. Its one inline script (the sign-out link's ``onclick``) is replaced by a
plain form (templates/rest_framework/api.html), and its sign-in page by the dashboard's
(templates/rest_framework/login.html). Every other page keeps the strict policy.
"""

from typing import Any

from csp.constants import UNSAFE_INLINE
from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's HTML renderer, marking its response to allow inline styles (see the module)."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src": [UNSAFE_INLINE]}
        return super().render(data, accepted_media_type, renderer_context)
