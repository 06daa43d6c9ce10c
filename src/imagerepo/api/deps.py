"""Dependencies shared by the routes, as `Annotated` aliases that keep handlers short.

`CurrentViewer` is who a read acts for: a signed-in user, or an anonymous visitor when the
request carries no credentials and `IMAGEREPO_ANONYMOUS_READ` allows it. A credential that is
sent but invalid is always a 401, never a silent fall-back to anonymous. `CurrentUser` is for
routes that need an account (uploads, changes, user management).

Two kinds of credential name a user: a bearer token (the CLI, scripts), else the gallery's
session cookie (`api/cookies.py`), which on a state-changing request must come with the
session's CSRF token (403 without it; `api/limits.py` checks the same before any body is read).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from imagerepo.api.cookies import cookie_session
from imagerepo.errors import AuthenticationFailed
from imagerepo.models import User
from imagerepo.policy import ANONYMOUS, Viewer
from imagerepo.services.images import ImageService
from imagerepo.services.users import UserService
from imagerepo.wiring import Services

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a route, not a secret


# The dependencies below are `async def` although they never wait: FastAPI runs a plain
# `def` dependency in its thread pool, a thread hop per dependency per request (most of a
# cache-off listing's time on a busy machine, docs/benchmarks.md).


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def services_dependency(request: Request) -> Services:
    return services(request)


async def user_service(request: Request) -> UserService:
    return services(request).users


async def image_service(request: Request) -> ImageService:
    return services(request).images


_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


async def current_user(
    request: Request,
    users: Annotated[UserService, Depends(user_service)],
    token: Annotated[str | None, Depends(_bearer)],
) -> User:
    if token:
        return await users.authenticate(token)
    session = await cookie_session(request, services(request).sessions)
    if session is None:
        raise AuthenticationFailed("log in first: send 'Authorization: Bearer <token>'")
    return session.user


async def current_viewer(
    request: Request,
    users: Annotated[UserService, Depends(user_service)],
    token: Annotated[str | None, Depends(_bearer)],
) -> Viewer:
    if token:
        return Viewer.of(await users.authenticate(token))
    session = await cookie_session(request, services(request).sessions)
    if session is not None:
        return Viewer.of(session.user)
    if not services(request).settings.anonymous_read:
        raise AuthenticationFailed(
            "this server has no anonymous access: send 'Authorization: Bearer <token>'"
        )
    return ANONYMOUS


CurrentUser = Annotated[User, Depends(current_user)]
CurrentViewer = Annotated[Viewer, Depends(current_viewer)]
Users = Annotated[UserService, Depends(user_service)]
Images = Annotated[ImageService, Depends(image_service)]
