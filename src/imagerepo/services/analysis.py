"""The one decode an upload gets: validate, read metadata, make the thumbnail and perceptual hash.

Decoding once at thumbnail scale (JPEG draft mode) is what keeps ingest near the speed of a plain
thumbnailing loop; it also proves the whole pixel stream is readable.
"""

from __future__ import annotations

from pathlib import Path

import imagehash
from PIL import Image

from imagerepo.models import Analysis, ImageInfo
from imagerepo.services.inspection import frame_count, media_type, open_image
from imagerepo.services.metadata import read_metadata
from imagerepo.services.rendering import (
    THUMBNAIL_SIZE,
    OutputFormat,
    display_copy,
    encode,
    prepare_decode,
)

ROTATED_ORIENTATIONS = frozenset({5, 6, 7, 8})


def analyse_upload(path: Path, max_pixels: int) -> Analysis:
    """Runs in the worker pool. Raises a 4xx-class error if the bytes are not a usable image."""
    with open_image(path, max_pixels) as image:
        metadata = read_metadata(image)
        frame_count(image, max_pixels)  # refuses animations with too many frames
        image.seek(0)
        width, height = image.size
        prepare_decode(image, THUMBNAIL_SIZE)
        image.load()
        thumbnail = display_copy(image, THUMBNAIL_SIZE)
        info = ImageInfo(
            media_type=media_type(image, path),
            width=height if metadata.orientation in ROTATED_ORIENTATIONS else width,
            height=width if metadata.orientation in ROTATED_ORIENTATIONS else height,
        )
    return Analysis(
        info=info,
        metadata=metadata,
        thumbnail=encode(thumbnail, "webp"),
        phash=perceptual_hash(thumbnail),
    )


def perceptual_hash(image: Image.Image) -> int:
    """64-bit DCT hash as a signed integer (what a BIGINT column holds)."""
    bits = int(str(imagehash.phash(image)), 16)
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def render_file(path: Path, max_pixels: int, box: int, fmt: OutputFormat) -> bytes:
    """A derivative of the original at `path`, made on demand (runs in the worker pool)."""
    with open_image(path, max_pixels) as image:
        prepare_decode(image, box)
        image.load()
        return encode(display_copy(image, box), fmt, full_size=box == 0)
