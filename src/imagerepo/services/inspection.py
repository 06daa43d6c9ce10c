"""Deciding whether uploaded bytes are an image we accept, by decoding them (never by name).

Pillow is given an explicit allow-list of formats: without it, `Image.open` identifies EPS by
content and hands it to Ghostscript, and reads FITS and other formats we never meant to accept.
The whole pixel stream is decoded (at reduced scale where the format allows it), because a
truncated JPEG opens fine and fails only when its pixels are read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pillow_heif
from PIL import Image, UnidentifiedImageError

from imagerepo.errors import ImageRepoError, InvalidImage, UnsupportedMediaType, ValidationFailed

MEDIA_TYPES: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "HEIF": "image/heif",
    "AVIF": "image/avif",
}
ACCEPTED = "JPEG, PNG, GIF, WebP, TIFF, HEIC/HEIF, AVIF"
MAX_FRAMES = 2_000
# Leading bytes of the accepted formats: bytes that start like one but do not decode are a
# damaged image (422), not an unsupported one (415).
MAGIC: dict[str, tuple[bytes, ...]] = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "GIF": (b"GIF87a", b"GIF89a"),
    "TIFF": (b"II*\x00", b"MM\x00*"),
}
HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx")


def configure_pillow() -> None:
    """Register HEIF and switch off Pillow's own bomb check.

    We check pixel counts ourselves from the header before decoding (see `open_image`), so
    Pillow's warning is redundant. pillow-heif applies the HEIF orientation itself.
    """
    Image.MAX_IMAGE_PIXELS = None
    pillow_heif.register_heif_opener()


@contextmanager
def open_image(path: Path, max_pixels: int) -> Iterator[Image.Image]:
    """Open an upload with the allow-list and check its size from the header.

    Every decoder failure inside the block, not only `UnidentifiedImageError`, becomes a 4xx.
    """
    if path.stat().st_size == 0:
        raise ValidationFailed("the file is empty")
    try:
        with Image.open(path, formats=list(MEDIA_TYPES)) as image:
            _check_size(image, max_pixels)
            yield image
    except ImageRepoError:
        raise
    except UnidentifiedImageError as exc:
        claimed = _claimed_format(path)
        if claimed is not None:
            raise InvalidImage(f"the file starts like a {claimed} but cannot be decoded") from exc
        raise UnsupportedMediaType(f"not an image in an accepted format ({ACCEPTED})") from exc
    except Exception as exc:
        raise InvalidImage(f"the image could not be decoded: {exc}") from exc


def _check_size(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InvalidImage("the image has no pixels")
    if width * height > max_pixels:
        raise InvalidImage(
            f"the image is {width}x{height} pixels, over the limit of {max_pixels} pixels"
        )
    if image.format not in MEDIA_TYPES:
        raise UnsupportedMediaType(f"not an image in an accepted format ({ACCEPTED})")


def frame_count(image: Image.Image, max_pixels: int) -> int:
    """Frames of an animation, refused past a cap (a GIF of 20 000 tiny frames is a bomb)."""
    frames = int(getattr(image, "n_frames", 1) or 1)
    width, height = image.size
    if frames > MAX_FRAMES or frames * width * height > 4 * max_pixels:
        raise InvalidImage(f"the animation has too many frames ({frames})")
    return frames


def media_type(image: Image.Image, path: Path) -> str:
    fmt = image.format or ""
    if fmt == "HEIF":
        with path.open("rb") as handle:
            head = handle.read(12)
        return "image/heic" if head[8:12] in HEIC_BRANDS else "image/heif"
    return MEDIA_TYPES[fmt]


def _claimed_format(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for fmt, magics in MAGIC.items() if head.startswith(magics)), None)
