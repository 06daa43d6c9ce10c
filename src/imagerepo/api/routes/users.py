"""Users: who am I; admins list, create and delete users; anyone changes their own password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from imagerepo.api.deps import CurrentUser, Users
from imagerepo.api.schemas import (
    ErrorOut,
    PasswordIn,
    UserDeleted,
    UserIn,
    UserList,
    UserListItem,
    UserOut,
)

router = APIRouter(prefix="/api/v1/users", tags=["users"])


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut} for code in statuses}


@router.get("/me", response_model=UserOut, responses=_errors(401))
async def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@router.get("", response_model=UserList, responses=_errors(401, 403))
async def list_users(actor: CurrentUser, users: Users) -> UserList:
    """Every user with their image count (admins)."""
    found = await users.list_users(actor)
    return UserList(items=[UserListItem.of_counted(s.user, s.image_count) for s in found])


@router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=_errors(401, 403, 409, 422),
)
async def create_user(actor: CurrentUser, users: Users, body: UserIn) -> UserOut:
    created = await users.create(actor, body.username, body.password, is_admin=body.is_admin)
    return UserOut.of(created)


@router.delete(
    "/{username}",
    response_model=UserDeleted,
    responses=_errors(401, 403, 404, 409),
)
async def delete_user(
    actor: CurrentUser,
    users: Users,
    username: str,
    delete_images: Annotated[
        bool,
        Query(description="Also delete the user's images; without it a user who owns any is 409."),
    ] = False,
) -> UserDeleted:
    """Delete a user (admins; never root, never yourself, never the last admin)."""
    deleted = await users.delete(actor, username, delete_images=delete_images)
    return UserDeleted(username=username.strip().lower(), images_deleted=deleted)


@router.put(
    "/{username}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_errors(401, 403, 404, 422),
)
async def change_password(
    actor: CurrentUser, users: Users, username: str, body: PasswordIn
) -> Response:
    """Set a password and revoke that user's tokens. `me` (or your own name) needs
    `current_password`; an admin sets another user's without it (root's: only root)."""
    await users.change_password(
        actor, username, body.password, current_password=body.current_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
