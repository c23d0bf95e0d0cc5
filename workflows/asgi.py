"""ASGI entry point: HTTP through Django, WebSockets through Channels (auth + same-origin
checks)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workflows.settings")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

# No persistent database connections in the web process (Django's advice for ASGI): every
# request runs in a new thread, and each kept connection would outlive it. Set here, not in
# the environment, so processes this one starts (and tests importing it) are unaffected.
_database = settings.DATABASES["default"]
if _database["ENGINE"].endswith("postgresql"):
    _database["CONN_MAX_AGE"] = 0
    _database.setdefault("OPTIONS", {})["application_name"] = "legato-web"

django_app = get_asgi_application()

from .web.origin import SameOriginValidator  # noqa: E402
from .web.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_app,
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
