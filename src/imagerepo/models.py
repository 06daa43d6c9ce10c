"""Domain types: plain data shared by every layer, with no I/O and no framework imports."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    is_admin: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UserCredentials:
    """A user with the hash that proves them; only the auth service sees this."""

    user: User
    password_hash: str


@dataclass(frozen=True, slots=True)
class Image:
    id: str
    owner_id: str
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
    created_at: datetime

    def visible_to(self, user_id: str) -> bool:
        return self.visibility is Visibility.PUBLIC or self.owner_id == user_id


@dataclass(frozen=True, slots=True)
class NewImage:
    """What the upload service hands the repository to insert."""

    id: str
    owner_id: str
    title: str
    filename: str
    description: str
    visibility: Visibility
    sha256: str
    size: int
    media_type: str
    width: int
    height: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ImageQuery:
    """A listing request, already bound to the caller it is evaluated for."""

    viewer_id: str
    owner: str | None = None
    keywords: tuple[str, ...] = ()
    limit: int = 50
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Image] = field(default_factory=list)
    next_after: tuple[datetime, str] | None = None


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What decoding an upload told us about it."""

    format: str
    media_type: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int
