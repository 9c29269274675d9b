"""The ASGI application: HTTP goes to Django, websockets to Channels consumers (session-authenticated),
and the server's start tunes its garbage collector (invoker_web/gc_tuning.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "invoker_web.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from invoker_web.gc_tuning import lifespan  # noqa: E402
from invoker_web.routing import websocket_urlpatterns  # noqa: E402
from invoker_web.websocket_origin import SameOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Same origin (scheme, host and port), not just an allowed host: invoker_web/websocket_origin.py.
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": lifespan,
    }
)
