"""One image as the API shows it, read as a plain row (Core columns, not ORM entities).

Every read of whole images (one image, a batch of ids, a listing page) selects `COLUMNS` plus
the owner's name and maps the row with `image_of`. Reading tuples instead of `ImageRow`
entities skips the ORM's identity map and attribute instrumentation, and leaves out the columns
only indexes need (search text, hash bands, sort keys).

A new column that `Image` carries under the same name is one line: add it to `PLAIN`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic_core import from_json
from sqlalchemy import ColumnElement, FromClause, Select, String, select, type_coerce

from imagerepo.db.repos.users import as_utc
from imagerepo.db.tables import ImageRow, UserRow
from imagerepo.models import Image, ImageState, PhotoMetadata, Visibility

_Raw = String()

#: Columns copied as they are into the `Image` field of the same name.
PLAIN = (
    ImageRow.id,
    ImageRow.owner_id,
    ImageRow.title,
    ImageRow.filename,
    ImageRow.description,
    ImageRow.sha256,
    ImageRow.size,
    ImageRow.media_type,
    ImageRow.width,
    ImageRow.height,
    ImageRow.phash,
)
#: Columns that need converting on the way (enum, time zone, JSON to domain types). Times and
#: JSON are read as the driver gives them (`type_coerce`: text on SQLite) and converted in
#: `image_of` by C parsers, a third of the cost of SQLAlchemy's result processors per row.
CONVERTED = (
    ImageRow.visibility,
    ImageRow.state,
    type_coerce(ImageRow.created_at, _Raw).label("created_at"),
    type_coerce(ImageRow.taken_at, _Raw).label("taken_at"),
    type_coerce(ImageRow.photo_metadata, _Raw).label("photo_metadata"),
    type_coerce(ImageRow.tags, _Raw).label("tags"),
)
COLUMNS = (*PLAIN, *CONVERTED)
_PLAIN_NAMES = tuple(column.key for column in PLAIN)
_OWNER = UserRow.username.label("owner_name")


def select_images(*extra: Any) -> Select[*tuple[Any, ...]]:
    """SELECT the image columns, the owner's name and `extra` columns, joined to `users`."""
    return select(*COLUMNS, _OWNER, *extra).join(UserRow, UserRow.id == ImageRow.owner_id)


def select_images_from(
    source: FromClause, on: ColumnElement[bool], *extra: Any
) -> Select[*tuple[Any, ...]]:
    """`select_images`, driven by `source` (a page of keys, a full-text table): its rows are
    joined to the images `on` names, then to their owners."""
    return (
        select(*COLUMNS, _OWNER, *extra)
        .select_from(source)
        .join(ImageRow, on)
        .join(UserRow, UserRow.id == ImageRow.owner_id)
    )


def image_of(row: Any) -> Image:
    """A row of `select_images()` as an `Image`."""
    values = row._mapping
    taken_at = values["taken_at"]
    return Image(
        **{name: values[name] for name in _PLAIN_NAMES},
        owner=values["owner_name"],
        visibility=Visibility(values["visibility"]),
        state=ImageState(values["state"]),
        created_at=_moment(values["created_at"]),
        taken_at=_moment(taken_at) if taken_at is not None else None,
        metadata=PhotoMetadata.from_dict(dict(_json(values["photo_metadata"]) or {})),
        tags=tuple(_json(values["tags"]) or ()),
    )


def _moment(value: str | datetime) -> datetime:
    """A stored time in UTC: SQLite's text (`2026-11-30 13:20:00.000000`) or a driver's value."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return as_utc(value)


def _json(value: Any) -> Any:
    """A JSON column as text (SQLite, asyncpg's `json`) or already decoded."""
    return from_json(value) if isinstance(value, str | bytes) else value


def images_of(rows: Sequence[Any]) -> list[Image]:
    return [image_of(row) for row in rows]
