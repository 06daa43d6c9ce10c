"""Log in: the OAuth2 password flow, answering a short-lived bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from imagerepo.api.deps import Users
from imagerepo.api.schemas import ErrorOut, TokenOut

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenOut,
    responses={401: {"model": ErrorOut}, 429: {"model": ErrorOut}},
)
async def issue_token(
    request: Request,
    users: Users,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
) -> TokenOut:
    client = request.client.host if request.client else None
    issued = await users.login(username, password, client=client)
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)
