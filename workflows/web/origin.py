"""The WebSocket handshake's same-origin check: what CSRF protection is for forms.

A browser sends its session cookie with a WebSocket handshake from any page, and cookies
ignore ports: a page on ``http://127.0.0.1:9999`` would open a viewer socket on
``http://127.0.0.1:8000`` as the signed-in user. Channels' ``AllowedHostsOriginValidator``
compares only the origin's host name with ``ALLOWED_HOSTS``, so it lets that page in. This
check is Django's CSRF origin rule instead: the ``Origin`` must be the server's own
scheme, host and port (the ``Host`` header, itself in ``ALLOWED_HOSTS``), or an entry of
``CSRF_TRUSTED_ORIGINS``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain


class SameOriginValidator:
    """ASGI middleware: refuse (HTTP 403 at the handshake) a WebSocket from another origin."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


def origin_allowed(scope: dict[str, Any]) -> bool:
    headers = _headers(scope)
    origin = headers.get("origin", "").lower()
    if not origin or origin == "null":
        return False
    own = _own_origin(scope, headers)
    if own is not None and origin == own:
        return True
    return _trusted(origin)


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    # Repeated headers: the last one wins, as it would in Django's request.META.
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


def _own_origin(scope: dict[str, Any], headers: dict[str, str]) -> str | None:
    """``scheme://host[:port]`` this request was sent to, if its Host is an allowed one."""
    host = headers.get("host", "").lower()
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return f"{'https' if _secure(scope, headers) else 'http'}://{host}"


def _secure(scope: dict[str, Any], headers: dict[str, str]) -> bool:
    """``request.is_secure()`` for a handshake: wss, or the proxy's header says https."""
    if scope.get("scheme") == "wss":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    name, value = proxy_header
    # request.META names (HTTP_X_FORWARDED_PROTO) back to header names.
    header = name.removeprefix("HTTP_").replace("_", "-").lower()
    return headers.get(header, "").split(",")[0].strip() == value


def _trusted(origin: str) -> bool:
    """In ``CSRF_TRUSTED_ORIGINS``: exactly, or under a ``scheme://*.domain`` entry."""
    trusted = [o.lower() for o in settings.CSRF_TRUSTED_ORIGINS]
    if origin in trusted:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    return any(
        is_same_domain(parsed.netloc, entry.split("://", 1)[1][1:])
        for entry in trusted
        if entry.startswith(f"{parsed.scheme}://*.")
    )
