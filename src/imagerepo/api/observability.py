"""The outermost ASGI middleware: who the client is, a request id, and request metrics.

- Behind a trusted proxy (`IMAGEREPO_TRUSTED_PROXIES`) `scope["client"]` becomes the address
  `client_address` reads from `X-Forwarded-For`, so everything further in sees the real client,
  and `X-Forwarded-Proto` (`http` or `https`) sets the scheme: behind a proxy that ends TLS, the
  gallery's cookie is `Secure` and same-origin checks compare `https://` origins.
- The request id is the client's `X-Request-ID` when it is sane (1-64 of `A-Za-z0-9._-`), else a
  new random one; it is echoed in the response and carried by every log line of the request.
- Latency is observed per route *template* (the matched route's path, read after routing), and
  uploads are counted with the bytes their bodies brought.
"""

from __future__ import annotations

import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imagerepo.client_address import client_address, is_trusted
from imagerepo.config import Settings
from imagerepo.logs import REQUEST_ID
from imagerepo.metrics import REQUEST_SECONDS, UPLOAD_BYTES, UPLOADS

_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UPLOAD_ROUTE = ("POST", "/api/v1/images")


class RequestContext:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self._trusted = settings.trusted_networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if self._trusted and scope.get("client"):
            host, port = scope["client"]
            if is_trusted(host, self._trusted):
                proto = headers.get("x-forwarded-proto", "").strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto
            scope["client"] = (
                client_address(host, headers.get("x-forwarded-for"), self._trusted),
                port,
            )
        offered = headers.get("x-request-id", "")
        request_id = offered if _SANE_ID.match(offered) else secrets.token_hex(8)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def tagged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, counting_receive, tagged_send)
        finally:
            route = _route_template(scope)
            REQUEST_SECONDS.labels(scope["method"], route, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )
            if (scope["method"], route) == UPLOAD_ROUTE:
                UPLOADS.labels(str(status)).inc()
                UPLOAD_BYTES.inc(received)
            REQUEST_ID.reset(token)


def _headers(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        found[key] = f"{found[key]}, {text}" if key in found else text
    return found


def _route_template(scope: Scope) -> str:
    """The matched route's path template, or `unmatched` (a 404 must not mint a label)."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str) and path:
        root = scope.get("root_path", "")
        return f"{root}{path}" if isinstance(root, str) else path
    return "unmatched"
