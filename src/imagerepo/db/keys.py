"""Derived columns every write stores beside an image, so listings can walk an index.

- `upload_key`: upload time in microseconds, shifted left 10 bits, plus 10 bits taken from a
  hash of the id. It orders rows by upload time exactly like (created_at, id-hash) and is unique
  (a clash needs the same microsecond and the same 10 bits; the repository then moves the upload
  time on by a microsecond). A cursor names it by (created_at, id), which the client has seen
  anyway, so the key itself is never handed out. The SQLite full-text tables use it as their
  rowid, which is what lets a text search read its matches newest first and stop early.
- `sort_taken_at`: capture time, or upload time for undated photos (the photo timeline).
- `local_month`: "YYYY-MM" of the camera's wall clock when the file gave one, else of
  `sort_taken_at` in UTC (timeline buckets).
- `search_text`: title and description folded (`imagerepo.folding`) for `keywords=`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TIE_BITS = 10


def key_floor(moment: datetime) -> int:
    """The smallest `upload_key` of anything uploaded at `moment` or later."""
    delta = utc(moment) - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros << TIE_BITS


def upload_key(created_at: datetime, image_id: str) -> int:
    tie = int.from_bytes(hashlib.sha256(image_id.encode()).digest()[:2], "big")
    return key_floor(created_at) | (tie & ((1 << TIE_BITS) - 1))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_month(taken_at_local: str | None, sort_taken_at: datetime) -> str:
    if taken_at_local and len(taken_at_local) >= 7 and taken_at_local[4] == "-":
        return taken_at_local[:7]
    return utc(sort_taken_at).strftime("%Y-%m")
