"""Users: who am I, and (admins) make a user."""

from __future__ import annotations

from fastapi import APIRouter, status

from imagerepo.api.deps import CurrentUser, Users
from imagerepo.api.schemas import ErrorOut, UserIn, UserOut

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", response_model=UserOut, responses={401: {"model": ErrorOut}})
async def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={403: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def create_user(actor: CurrentUser, users: Users, body: UserIn) -> UserOut:
    created = await users.create(actor, body.username, body.password, is_admin=body.is_admin)
    return UserOut.of(created)
