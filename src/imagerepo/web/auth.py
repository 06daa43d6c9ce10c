"""Signing in and out of the gallery.

Sign-in checks the password as the API does and sets the session cookie (`api/cookies.py`).
Both forms refuse cross-site posts: a browser says where a form came from (`Origin`,
`Sec-Fetch-Site`), and signing out also needs the page's CSRF token, so no other site can sign
a visitor in to an account of its choosing or out of their own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from imagerepo.api.cookies import clear_session_cookie, session_secret, set_session_cookie
from imagerepo.api.deps import services
from imagerepo.errors import InvalidCredentials, PermissionDenied, TooManyRequests
from imagerepo.services.sessions import check_csrf
from imagerepo.web.render import PAGE_HEADERS, page, visitor

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//elsewhere`, `\\elsewhere` or a full URL."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def same_origin(request: Request) -> bool:
    """False for a form posted from another site (as far as the browser tells us)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def _see_other(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    who = await visitor(request)
    if who.user is not None:
        return _see_other(safe_next(next))
    return page(request, "login.html", who, title="Sign in", next=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    who = await visitor(request)
    if not same_origin(request):
        return page(
            request,
            "login.html",
            who,
            status_code=403,
            title="Sign in",
            next="/",
            error="That sign-in came from another site. Sign in here instead.",
        )
    sessions = services(request).sessions
    try:
        client = request.client.host if request.client else None
        started = await sessions.sign_in(username, password, client=client)
    except TooManyRequests as exc:
        return page(
            request,
            "login.html",
            who,
            status_code=429,
            title="Sign in",
            next=safe_next(next),
            username=username,
            error=f"Too many failed sign-ins. Try again in {exc.retry_after} seconds.",
        )
    except InvalidCredentials:
        return page(
            request,
            "login.html",
            who,
            status_code=401,
            title="Sign in",
            next=safe_next(next),
            username=username,
            error="Wrong username or password.",
        )
    response = _see_other(safe_next(next))
    set_session_cookie(response, request, started.secret, sessions.ttl_seconds)
    return response


@router.post("/logout")
async def logout(
    request: Request, csrf_token: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    who = await visitor(request)
    secret = session_secret(request)
    if who.session is not None and secret is not None:
        try:
            if not same_origin(request):
                raise PermissionDenied("cross-site")
            check_csrf(who.session, csrf_token)
        except PermissionDenied:
            return page(
                request,
                "message.html",
                who,
                status_code=403,
                title="Not signed out",
                message="That sign-out request did not come from this site's page.",
            )
        await services(request).sessions.sign_out(secret)
    response = _see_other("/")
    clear_session_cookie(response, request)
    return response
