"""Deciding whether uploaded bytes are an image we accept, by decoding them (never by name).

Pillow is given an explicit allow-list of formats: without it, `Image.open` identifies EPS by
content and hands it to Ghostscript, and reads FITS and other formats we never meant to accept.
The whole pixel stream is decoded (at reduced scale where the format allows it), because a
truncated JPEG opens fine and fails only when its pixels are read.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from imagerepo.errors import ImageRepoError, InvalidImage, UnsupportedMediaType, ValidationFailed
from imagerepo.models import ImageInfo

MEDIA_TYPES: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
}
ACCEPTED = ", ".join(sorted(MEDIA_TYPES))
# Leading bytes of the accepted formats: bytes that start like one but do not decode are a
# damaged image (422), not an unsupported one (415).
MAGIC: dict[str, tuple[bytes, ...]] = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "GIF": (b"GIF87a", b"GIF89a"),
    "TIFF": (b"II*\x00", b"MM\x00*"),
}
DRAFT_BOX = (1024, 1024)


def configure_pillow() -> None:
    """We check pixel counts ourselves from the header (see `inspect_image`), before any decoding,
    so Pillow's own decompression-bomb warning is redundant and is turned off."""
    Image.MAX_IMAGE_PIXELS = None


def inspect_image(path: Path, max_pixels: int) -> ImageInfo:
    """Identify and fully decode the file at `path`; raise a 4xx-class error if it is not usable."""
    if path.stat().st_size == 0:
        raise ValidationFailed("the file is empty")
    try:
        with Image.open(path, formats=list(MEDIA_TYPES)) as image:
            width, height = image.size
            if width <= 0 or height <= 0:
                raise InvalidImage("the image has no pixels")
            if width * height > max_pixels:
                raise InvalidImage(
                    f"the image is {width}x{height} pixels, over the limit of {max_pixels} pixels"
                )
            fmt = image.format or ""
            image.draft("RGB", DRAFT_BOX)
            image.load()
    except ImageRepoError:
        raise
    except UnidentifiedImageError as exc:
        claimed = _claimed_format(path)
        if claimed is not None:
            raise InvalidImage(f"the file starts like a {claimed} but cannot be decoded") from exc
        raise UnsupportedMediaType(f"not an image in an accepted format ({ACCEPTED})") from exc
    except Exception as exc:
        raise InvalidImage(f"the image could not be decoded: {exc}") from exc
    if fmt not in MEDIA_TYPES:
        raise UnsupportedMediaType(f"not an image in an accepted format ({ACCEPTED})")
    return ImageInfo(format=fmt, media_type=MEDIA_TYPES[fmt], width=width, height=height)


def _claimed_format(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for fmt, magics in MAGIC.items() if head.startswith(magics)), None)
