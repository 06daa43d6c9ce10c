"""Dependencies shared by the routes, as `Annotated` aliases that keep handlers short."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from imagerepo.errors import AuthenticationFailed
from imagerepo.models import User
from imagerepo.services.images import ImageService
from imagerepo.services.users import UserService

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a route, not a secret


@dataclass(frozen=True, slots=True)
class Services:
    """Everything `create_app` wired, stored on `app.state.services`."""

    users: UserService
    images: ImageService


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def user_service(request: Request) -> UserService:
    return services(request).users


def image_service(request: Request) -> ImageService:
    return services(request).images


_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


async def current_user(
    users: Annotated[UserService, Depends(user_service)],
    token: Annotated[str | None, Depends(_bearer)],
) -> User:
    if not token:
        raise AuthenticationFailed("log in first: send 'Authorization: Bearer <token>'")
    return await users.authenticate(token)


CurrentUser = Annotated[User, Depends(current_user)]
Users = Annotated[UserService, Depends(user_service)]
Images = Annotated[ImageService, Depends(image_service)]
