"""Opaque listing cursors: the (created_at, id) of the last item a page showed.

The cursor carries only what the caller already saw in that item, so it reveals nothing about
images they cannot see (no row numbers, no counts).

A cursor comes back from the client, so `decode_cursor` trusts nothing in it: base64url of a
JSON array of exactly two strings, an ISO 8601 moment with a UTC offset (returned in UTC, the
zone the rows are stored in) and an id in the shape `services.ids` makes. Anything else, from a
lone surrogate to a nested list, is `ValidationFailed` (422) before it gets near SQL.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

from imagerepo.errors import ValidationFailed

#: Far longer than any cursor we give out (about 90 characters), short enough to parse cheaply.
MAX_CURSOR_LENGTH = 512
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# Ids are secrets.token_urlsafe(16) (22 characters); the column holds up to 32.
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def encode_cursor(position: tuple[datetime, str]) -> str:
    raw = json.dumps([position[0].isoformat(), position[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position `cursor` names; `ValidationFailed` for anything this server did not make."""
    refused = ValidationFailed("the cursor is not one this server gave out")
    if len(cursor) > MAX_CURSOR_LENGTH or not _BASE64URL.fullmatch(cursor):
        raise refused
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError and JSONDecodeError are too
        raise refused from exc
    match position:
        case [str(moment), str(image_id)] if _ID.fullmatch(image_id):
            pass
        case _:
            raise refused
    try:
        when = datetime.fromisoformat(moment)
        if when.utcoffset() is None:
            raise refused
        return when.astimezone(UTC), image_id
    except (ValueError, OverflowError) as exc:
        raise refused from exc
