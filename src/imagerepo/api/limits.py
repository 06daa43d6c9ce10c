"""Limits that hold before the app reads a request body: who may send one, how big it may be, and
how slowly it may arrive.

A pure ASGI middleware: it wraps `receive` and `send` and nothing else (BaseHTTPMiddleware would
relay the body through a task and a stream of its own). Before the first body byte is read:

1. Credentials. A state-changing request (POST, PUT, PATCH, DELETE) under `/api/v1/`, except the
   login, needs a credential that verifies, else 401 (`CREDENTIAL_CHECKS`: a bearer token, then
   the gallery's session cookie). For a token, signature and expiry are enough to tell a client
   from an anonymous flood, so no database is asked; a cookie is one primary-key lookup, and its
   CSRF token is checked here too (403 without it). The route still loads the user.
2. Media type. Only a route that streams uploads takes a multipart body; anywhere else, 415.
3. Size. What the matched route declares it reads sets the cap (`body_kind`): JSON
   (`max_json_bytes`), a form (`max_form_bytes`), an upload (`max_upload_bytes` plus its multipart
   envelope), nothing (`UNUSED_BODY_BYTES`). A `Content-Length` over the cap gets 413 at once; a
   body that grows past it while streaming gets 413 then.

Steps 2 and 3 run when the app first asks for the body: by then the router has put the matched
route in `scope["route"]`, so the route is not matched twice, and not a byte has been read.
4. Time. The app waits at most `body_timeout_seconds` for each next piece of the body, and at
   most `body_timeout_seconds` + bytes received / `body_min_bytes_per_second` in all, else 408.
   Only time spent waiting for the client counts, not time the app spends between reads.

Refusals carry the one JSON error body, plus `Connection: close` whenever part of the body is
still unsent, so the server does not go on reading bytes nobody wants; any answer the app sends
before it has read the whole body closes the connection for the same reason. The request head
(size, field count, time) and connections are limited in `imagerepo.connection_limits`: the app
is only called once the head is complete.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn

from fastapi import params
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imagerepo.api.cookies import cookie_session
from imagerepo.api.deps import TOKEN_URL
from imagerepo.api.errors import error_response
from imagerepo.config import Settings
from imagerepo.errors import AuthenticationFailed, ImageRepoError
from imagerepo.wiring import Services

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1/"
MULTIPART_ENVELOPE_BYTES = 64 * 1024  # part headers and boundaries around an upload's file
UNUSED_BODY_BYTES = 1024  # a route that reads no body still tolerates a stray `{}`


class BodyKind(enum.Enum):
    NONE = "none"
    JSON = "json"
    FORM = "form"
    UPLOAD = "upload"


def body_kind(route: object) -> BodyKind:
    """What a route reads, from what it declares: a multipart request body in its OpenAPI extra
    is a streamed upload; otherwise FastAPI's own body field says form, JSON or nothing."""
    if not isinstance(route, APIRoute):
        return BodyKind.NONE
    declared = (route.openapi_extra or {}).get("requestBody", {}).get("content", {})
    if "multipart/form-data" in declared:
        return BodyKind.UPLOAD
    if route.body_field is None:
        return BodyKind.NONE
    if isinstance(route.body_field.field_info, params.Form):
        return BodyKind.FORM
    return BodyKind.JSON


@dataclass(frozen=True, slots=True)
class BodyLimits:
    json_bytes: int
    form_bytes: int
    upload_bytes: int
    timeout_seconds: float
    min_bytes_per_second: int

    @classmethod
    def of(cls, settings: Settings) -> BodyLimits:
        return cls(
            json_bytes=settings.max_json_bytes,
            form_bytes=settings.max_form_bytes,
            upload_bytes=settings.max_upload_bytes + MULTIPART_ENVELOPE_BYTES,
            timeout_seconds=settings.body_timeout_seconds,
            min_bytes_per_second=settings.body_min_bytes_per_second,
        )

    def cap(self, kind: BodyKind) -> int:
        return {
            BodyKind.NONE: UNUSED_BODY_BYTES,
            BodyKind.JSON: self.json_bytes,
            BodyKind.FORM: self.form_bytes,
            BodyKind.UPLOAD: self.upload_bytes,
        }[kind]


# -- credentials ------------------------------------------------------------------------------

# A check answers the subject its kind of credential names; None when the request carries no
# credential of that kind; `AuthenticationFailed` when it carries one that does not verify (or
# another `ImageRepoError`, such as a missing CSRF token, answered with its own status).
CredentialCheck = Callable[[HTTPConnection, Services], Awaitable[str | None]]


async def bearer_token(connection: HTTPConnection, services: Services) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return services.users.token_subject(token)


async def session_cookie(connection: HTTPConnection, services: Services) -> str | None:
    """The gallery's cookie: a live session, and (the request changing state) its CSRF token."""
    session = await cookie_session(connection, services.sessions)
    return session.user.id if session is not None else None


CREDENTIAL_CHECKS: tuple[CredentialCheck, ...] = (bearer_token, session_cookie)


async def credential_subject(connection: HTTPConnection, services: Services) -> str:
    """Who the request's credential names, by the first kind it carries; else 401."""
    for check in CREDENTIAL_CHECKS:
        subject = await check(connection, services)
        if subject is not None:
            return subject
    raise AuthenticationFailed("log in first: send 'Authorization: Bearer <token>'")


def needs_credentials(method: str, path: str) -> bool:
    return (
        method in STATE_CHANGING
        and path.startswith(API_PREFIX)
        and not (method == "POST" and path == TOKEN_URL)
    )


# -- the middleware ---------------------------------------------------------------------------


class _BodyRefused(Exception):
    """Raised into the app from `receive` after the middleware has answered in its place."""


class RequestLimits:
    """Install with `app.add_middleware(RequestLimits, settings=settings)`."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.limits = BodyLimits.of(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = _content_length(headers)
        has_body = bool(declared) or "transfer-encoding" in headers
        if needs_credentials(scope["method"], scope["path"]):
            try:
                await credential_subject(HTTPConnection(scope), scope["app"].state.services)
            except ImageRepoError as exc:
                status = 401 if isinstance(exc, AuthenticationFailed) else exc.status
                close = {"Connection": "close"} if has_body else None
                await error_response(status, exc.code, exc.message, close)(scope, receive, send)
                return
        if not has_body:
            await self.app(scope, receive, send)
            return
        multipart = headers.get("content-type", "").lower().startswith("multipart/")
        body = _GuardedBody(scope, receive, send, self.limits, declared, multipart)
        try:
            await self.app(scope, body.receive, body.send)
        except Exception:
            if not body.refused:
                raise
            # We answered already; whatever the app made of `_BodyRefused` is beside the point.


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _too_large(cap: int) -> str:
    return f"the request body is larger than this route's limit of {cap} bytes"


class _GuardedBody:
    """The app's `receive` and `send` for one request with a body: admits the body when the app
    first asks for it, then counts and times it, answering 413, 415 or 408 itself when it must."""

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        limits: BodyLimits,
        declared: int | None,
        multipart: bool,
    ) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self._limits = limits
        self._declared = declared
        self._multipart = multipart
        self._cap: int | None = None  # set when the app first asks for the body
        self._loop = asyncio.get_running_loop()
        self.received = 0
        self.waited = 0.0  # seconds spent waiting for the client inside `receive`
        self.complete = False  # the last body message has been received
        self.response_started = False
        self.refused = False

    async def receive(self) -> Message:
        if self.complete:
            return await self._receive()  # e.g. waiting for http.disconnect: not the body
        if self._cap is None:
            self._cap = await self._admit()
        allowance = (
            self._limits.timeout_seconds
            + self.received / self._limits.min_bytes_per_second
            - self.waited
        )
        started = self._loop.time()
        try:
            async with asyncio.timeout(min(self._limits.timeout_seconds, max(allowance, 0.0))):
                message = await self._receive()
        except TimeoutError:
            await self._refuse(408, "request_timeout", "the request body arrived too slowly")
        self.waited += self._loop.time() - started
        if message["type"] != "http.request":
            self.complete = True  # http.disconnect
            return message
        self.received += len(message.get("body", b""))
        if self.received > self._cap:
            await self._refuse(413, "payload_too_large", _too_large(self._cap))
        if not message.get("more_body", False):
            self.complete = True
        return message

    async def _admit(self) -> int:
        """The cap for the route the router chose; refuses a body it must not read at all."""
        kind = body_kind(self._scope.get("route"))
        if self._multipart and kind is not BodyKind.UPLOAD:
            await self._refuse(
                415, "unsupported_media_type", "this route does not take a multipart body"
            )
        cap = self._limits.cap(kind)
        if self._declared is not None and self._declared > cap:
            await self._refuse(413, "payload_too_large", _too_large(cap))
        return cap

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the client has our answer; the app's own one is dropped
        if message["type"] == "http.response.start":
            self.response_started = True
            if not self.complete:
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (b"connection", b"close")],
                }
        await self._send(message)

    async def _refuse(self, status: int, code: str, message: str) -> NoReturn:
        """Answer in the app's place (if it has not begun to answer) and stop it."""
        if not self.response_started:
            self.response_started = True
            response = error_response(status, code, message, {"Connection": "close"})
            await response(self._scope, self._receive, self._send)
        self.refused = True
        raise _BodyRefused(message)
