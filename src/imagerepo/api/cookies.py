"""The gallery's session cookie and its CSRF header, as HTTP carries them.

The cookie holds only the session's random secret: `HttpOnly` (no script reads it),
`SameSite=Lax` (not sent with cross-site POSTs or subresource requests), `Path=/`, and under
HTTPS `Secure` with the `__Host-` name prefix, which a sibling subdomain cannot set. A request the
cookie authenticates that changes anything must also carry `X-CSRF-Token`; a bearer-token request
needs none, since no other site can make a browser send one.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import Response

from imagerepo.services.sessions import BrowserSession, SessionService, check_csrf

COOKIE = "imagerepo_session"
SECURE_COOKIE = "__Host-imagerepo_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_https(connection: HTTPConnection) -> bool:
    return connection.url.scheme == "https"


def cookie_name(secure: bool) -> str:
    return SECURE_COOKIE if secure else COOKIE


def session_secret(connection: HTTPConnection) -> str | None:
    """The secret the request's cookie carries (only the `__Host-` one under HTTPS)."""
    return connection.cookies.get(cookie_name(is_https(connection))) or None


def set_session_cookie(
    response: Response, connection: HTTPConnection, secret: str, max_age: int
) -> None:
    secure = is_https(connection)
    response.set_cookie(
        cookie_name(secure),
        secret,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, connection: HTTPConnection) -> None:
    secure = is_https(connection)
    response.delete_cookie(
        cookie_name(secure), path="/", secure=secure, httponly=True, samesite="lax"
    )


async def cookie_session(
    connection: HTTPConnection, sessions: SessionService
) -> BrowserSession | None:
    """The session the request's cookie names; None when it sends no cookie. A cookie that names
    no live session is `AuthenticationFailed`; a state-changing request without the session's
    CSRF token is `PermissionDenied`."""
    secret = session_secret(connection)
    if secret is None:
        return None
    session = await sessions.resolve(secret)
    if connection.scope.get("method", "GET") not in SAFE_METHODS:
        check_csrf(session, connection.headers.get(CSRF_HEADER))
    return session
