"""The shapes of the server's JSON answers, as the client sees them.

Images and users stay plain dicts (typed with `TypedDict`) so `--json` can print exactly what the
server sent; only the answers the client itself acts on get a small dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

Visibility = Literal["public", "private"]


class ImageJSON(TypedDict):
    id: str
    owner: str
    title: str
    filename: str
    description: str
    visibility: Visibility
    sha256: str
    size: int
    media_type: str
    width: int
    height: int
    created_at: str


class UserJSON(TypedDict):
    id: str
    username: str
    is_admin: bool
    created_at: str


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """An access token and how long the server says it lives."""

    access_token: str
    token_type: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class ImagePage:
    """One page of a listing; `next_cursor` is None on the last page."""

    items: list[ImageJSON]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class UploadResult:
    """The answer to one upload: `created` is False when the user already had these bytes (the
    server answered 200 with the existing image instead of 201)."""

    created: bool
    image: ImageJSON
