"""Opaque listing cursors: where the last item of a page stood in the listing's order.

The cursor carries only what the caller already saw in that item, so it reveals nothing about
images they cannot see (no row numbers, no counts): for upload order (the default) the item's
(created_at, id); for the other orders also the sort name and the item's sort value — its
capture time (`taken_at`), its size, or its relevance score (`relevance`).

A cursor comes back from the client, so `decode_cursor` trusts nothing in it: base64url of a
JSON array, either exactly two strings, an ISO 8601 moment with a UTC offset (returned in UTC,
the zone the rows are stored in) and an id in the shape `services.ids` makes, or a sort name,
its value (a moment like the first, an integer in 0..2**63-1, a finite number) and those two.
A cursor of one order given to another is refused too. Anything else, from a lone surrogate to
a nested list or NaN, is `ValidationFailed` (422) before it gets near SQL.
"""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import UTC, datetime

from imagerepo.errors import ValidationFailed
from imagerepo.models import Position, Sort

#: Far longer than any cursor we give out (about 90 characters), short enough to parse cheaply.
MAX_CURSOR_LENGTH = 512
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# Ids are secrets.token_urlsafe(16) (22 characters); the column holds up to 32.
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_MAX_SIZE = 2**63 - 1


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a cursor can hold")


def encode_position(sort: Sort, position: Position) -> str:
    """The cursor for the page after `position` in the `sort` order."""
    if sort is Sort.UPLOADED_AT:
        return encode_cursor((position.created_at, position.id))
    value = position.value
    shown = value.isoformat() if isinstance(value, datetime) else value
    raw = json.dumps(
        [sort.value, shown, position.created_at.isoformat(), position.id],
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(cursor: str, sort: Sort) -> Position:
    """The position `cursor` names in the `sort` order; `ValidationFailed` for anything this
    server did not make, and for a cursor of another order."""
    refused = ValidationFailed("the cursor is not one this server gave out for this order")
    items = _json_array(cursor)
    if sort is Sort.UPLOADED_AT:
        when, image_id = _moment_and_id(items)
        return Position(None, when, image_id)
    match items:
        case [str(name), value, *rest] if name == sort.value:
            pass
        case _:
            raise refused
    when, image_id = _moment_and_id(rest)
    if sort is Sort.TAKEN_AT and isinstance(value, str):
        return Position(_moment(value), when, image_id)
    if sort is Sort.SIZE and type(value) is int and 0 <= value <= _MAX_SIZE:
        return Position(value, when, image_id)
    finite = isinstance(value, int | float) and type(value) is not bool and math.isfinite(value)
    if sort is Sort.RELEVANCE and finite:
        assert isinstance(value, int | float)
        return Position(float(value), when, image_id)
    raise refused


def encode_cursor(position: tuple[datetime, str]) -> str:
    raw = json.dumps([position[0].isoformat(), position[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) an upload-order cursor names; `ValidationFailed` for anything this
    server did not make."""
    return _moment_and_id(_json_array(cursor))


def _json_array(cursor: str) -> object:
    refused = ValidationFailed("the cursor is not one this server gave out")
    if len(cursor) > MAX_CURSOR_LENGTH or not _BASE64URL.fullmatch(cursor):
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # binascii.Error, UnicodeDecodeError too
        raise refused from exc


def _moment_and_id(items: object) -> tuple[datetime, str]:
    match items:
        case [str(moment), str(image_id)] if _ID.fullmatch(image_id):
            return _moment(moment), image_id
        case _:
            raise ValidationFailed("the cursor is not one this server gave out")


def _moment(text: str) -> datetime:
    refused = ValidationFailed("the cursor is not one this server gave out")
    try:
        when = datetime.fromisoformat(text)
        if when.utcoffset() is None:
            raise refused
        return when.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise refused from exc
