"""Rendering pages: the template environment, the headers every page carries, and who is
looking (the session cookie, or nobody).

Every page is sent with a strict Content-Security-Policy (scripts only from this server, no
inline script or handler, no framing), `nosniff` and `Referrer-Policy: same-origin`. Templates
autoescape everything; the scripts never put user text into HTML (`textContent` only).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import Scope

from imagerepo.api.cookies import clear_session_cookie, session_secret
from imagerepo.api.deps import services
from imagerepo.errors import AuthenticationFailed
from imagerepo.models import User
from imagerepo.policy import ANONYMOUS, Viewer
from imagerepo.services.sessions import BrowserSession

HERE = Path(__file__).parent
STATIC_URL = "/static/gallery"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'; base-uri 'none';"
    " form-action 'self'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages differ by who is signed in: never from a shared cache.
    "Cache-Control": "private, no-cache",
}


def _asset_version() -> str:
    """Changes when any asset does, so a new release never runs with last release's script."""
    digest = hashlib.sha256()
    for path in sorted((HERE / "static").rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


ASSET_VERSION = _asset_version()
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["static"] = lambda name: f"{STATIC_URL}/{name}?v={ASSET_VERSION}"


class GalleryStatic(StaticFiles):
    """The gallery's CSS and modules, `nosniff`. Pages link them as `?v=<ASSET_VERSION>`, which
    changes with any asset, so such a URL is kept a year; any other is revalidated (ETag)."""

    def __init__(self) -> None:
        super().__init__(directory=HERE / "static")

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        current = scope.get("query_string", b"") == f"v={ASSET_VERSION}".encode()
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if current else "no-cache"
        )
        return response


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is looking at a page: a session, or nobody (`stale` when the cookie named a session
    that has ended, so the page clears it)."""

    session: BrowserSession | None = None
    stale: bool = False

    @property
    def user(self) -> User | None:
        return self.session.user if self.session is not None else None

    @property
    def viewer(self) -> Viewer:
        return Viewer.of(self.session.user) if self.session is not None else ANONYMOUS


async def visitor(request: Request) -> Visitor:
    secret = session_secret(request)
    if secret is None:
        return Visitor()
    try:
        return Visitor(await services(request).sessions.resolve(secret))
    except AuthenticationFailed:
        return Visitor(stale=True)


def page(
    request: Request, template: str, who: Visitor, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request,
        template,
        {
            "user": who.user,
            "csrf": who.session.csrf_token if who.session else "",
            **context,
        },
        status_code=status_code,
        headers=PAGE_HEADERS,
    )
    if who.stale:
        clear_session_cookie(response, request)
    return response


def to_login(request: Request) -> RedirectResponse:
    """Send a visitor who must sign in to the sign-in page, and back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
