"""Opaque listing cursors: the (created_at, id) of the last item a page showed.

The cursor carries only what the caller already saw in that item, so it reveals nothing about
images they cannot see (no row numbers, no counts).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from imagerepo.errors import ValidationFailed


def encode_cursor(position: tuple[datetime, str]) -> str:
    raw = json.dumps([position[0].isoformat(), position[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, image_id = json.loads(raw)
        return datetime.fromisoformat(moment), str(image_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ValidationFailed("the cursor is not one this server gave out") from exc
