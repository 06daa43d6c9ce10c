"""Unguessable identifiers: 128 random bits, URL-safe."""

from __future__ import annotations

import secrets


def new_id() -> str:
    return secrets.token_urlsafe(16)
