"""Unguessable identifiers: 128 random bits, URL-safe."""

from __future__ import annotations

import secrets


def new_id() -> str:
    """22 URL-safe characters that never start with "-": an id is pasted as a command-line
    argument (`imagerepo get ID`), where a leading dash reads as an option (1 id in 64 did)."""
    while True:
        candidate = secrets.token_urlsafe(16)
        if not candidate.startswith("-"):
            return candidate
