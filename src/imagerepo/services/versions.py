"""Media versions: a short tag that changes whenever what a thumbnail or preview URL serves, or
who may keep a copy of it, changes.

The gallery (and `thumbnail_url` in the image JSON) put it in the URL as `?v=`. A URL that
carries the current version of a public image may then be cached by anyone for a year, because
any change of bytes, renderer or visibility makes a new URL; see `api/routes/images.py`.
"""

from __future__ import annotations

import hashlib

from imagerepo.models import Image
from imagerepo.services.rendering import RENDER_VERSION


def media_version(image: Image) -> str:
    """12 hex digits of sha256(content digest, visibility, renderer version)."""
    tag = f"{image.sha256}:{image.visibility.value}:r{RENDER_VERSION}"
    return hashlib.sha256(tag.encode()).hexdigest()[:12]
