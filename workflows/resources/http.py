"""``http`` (and ``arn:aws:states:::http:invoke``): call an HTTP endpoint from a Task.

Only hosts listed in ``LEGATO_HTTP_ALLOWED_HOSTS`` can be called, so a definition cannot
make the server reach into the network it sits in (server-side request forgery). A
non-2xx status fails the step with ``Http.<status>`` (``Http.404``), which ``Http.4xx`` /
``Http.5xx`` in Retry and Catch also match; a connection failure or a timeout is
``States.Http.Socket``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings

from . import TaskContext, TaskError, register

SOCKET_ERROR = "States.Http.Socket"
DEFAULT_TIMEOUT = 60
MAX_RESPONSE_BYTES = 256 * 1024
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


def _request_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """Accept Legato's names (Method, Url, …) and AWS's (ApiEndpoint, RequestBody, …)."""
    return {
        "method": str(payload.get("Method", "GET")).upper(),
        "url": payload.get("Url") or payload.get("ApiEndpoint"),
        "headers": payload.get("Headers") or {},
        "query": payload.get("Query") or payload.get("QueryParameters") or {},
        "body": payload.get("Body", payload.get("RequestBody")),
        "timeout": payload.get("TimeoutSeconds", DEFAULT_TIMEOUT),
    }


def allowed(host: str | None) -> bool:
    hosts = settings.LEGATO["HTTP_ALLOWED_HOSTS"]
    return bool(host) and ("*" in hosts or host.lower() in hosts)


@register("http")
@register("arn:aws:states:::http:invoke")
def invoke_http(payload: Any, context: TaskContext) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise TaskError("Legato.InvalidInput", "http needs Parameters with Method and Url")
    fields = _request_fields(payload)
    url = fields["url"]
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise TaskError("Legato.InvalidInput", "Url must be an http:// or https:// URL")
    if fields["method"] not in METHODS:
        raise TaskError("Legato.InvalidInput", f"unsupported Method {fields['method']}")
    parsed = urllib.parse.urlsplit(url)
    if not allowed(parsed.hostname):
        raise TaskError(
            "Legato.HttpHostNotAllowed", f"{parsed.hostname} is not in LEGATO_HTTP_ALLOWED_HOSTS"
        )
    if fields["query"]:
        query = urllib.parse.urlencode(fields["query"], doseq=True)
        url = f"{url}{'&' if parsed.query else '?'}{query}"
    headers = {str(k): str(v) for k, v in fields["headers"].items()}
    headers.setdefault("Idempotency-Key", context.idempotency_key)
    data = None
    if fields["body"] is not None:
        if isinstance(fields["body"], str):
            data = fields["body"].encode()
        else:
            data = json.dumps(fields["body"]).encode()
            headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(  # noqa: S310 - scheme checked, host allow-listed
        url, data=data, headers=headers, method=fields["method"]
    )
    context.logger.info("%s %s", fields["method"], url)
    try:
        with _OPENER.open(request, timeout=float(fields["timeout"])) as response:
            return _result(
                response.status,
                response.reason,
                response.headers,
                response.read(MAX_RESPONSE_BYTES + 1),
            )
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_RESPONSE_BYTES + 1)
        result = _result(exc.code, exc.reason, exc.headers, body)
        raise TaskError(f"Http.{exc.code}", json.dumps(result)[:32768]) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise TaskError(SOCKET_ERROR, str(getattr(exc, "reason", exc))) from exc


class _AllowListedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an allowed host: a redirect must not be a way around the
    allow-list."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if not allowed(urllib.parse.urlsplit(newurl).hostname):
            raise TaskError(
                "Legato.HttpHostNotAllowed",
                f"a redirect to {newurl} leaves LEGATO_HTTP_ALLOWED_HOSTS",
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_AllowListedRedirects)


def _result(status: int, reason: str, headers: Any, raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_RESPONSE_BYTES:
        raise TaskError("States.DataLimitExceeded", "the HTTP response is larger than 256 KiB")
    text = raw.decode("utf-8", errors="replace")
    try:
        body: Any = json.loads(text) if text else None
    except json.JSONDecodeError:
        body = text
    return {
        "StatusCode": status,
        "StatusText": reason,
        "Headers": dict(headers.items()),
        "ResponseBody": body,
    }
