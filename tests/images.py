"""Test images made on the fly (photo-like gradients, never pure noise), and the shared samples."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageDraw

SHARED_DATA = Path(
    os.environ.get("IMAGEREPO_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data")
)
EXIF_SAMPLES = SHARED_DATA / "exif-samples"


def make_image(
    fmt: str = "JPEG", size: tuple[int, int] = (64, 48), seed: int = 0, mode: str = "RGB"
) -> bytes:
    """A small, valid image whose bytes differ with `seed`."""
    image = Image.new(mode, size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for y in range(height):
        shade = (y * 255 // max(height - 1, 1) + seed * 37) % 256
        draw.line([(0, y), (width, y)], fill=(shade, (shade + seed * 11) % 256, 255 - shade))
    draw.ellipse(
        [width // 4, height // 4, width * 3 // 4, height * 3 // 4], fill=(seed % 256, 90, 40)
    )
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()
