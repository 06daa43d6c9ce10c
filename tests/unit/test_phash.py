"""Perceptual hashes only for pictures with enough detail (issue 6).

A flat picture's DCT is all zero but its mean, so its 64 bits are rounding noise: every flat
colour, faint noise and smooth gradient hashed to nearly the same value and matched each other.
"""

from __future__ import annotations

import io

import imagehash
import numpy as np
import pytest
from PIL import Image

from imagerepo.services.analysis import hamming, perceptual_hash
from tests.images import EXIF_SAMPLES

PHOTOS = ["jpg/Canon_40D.jpg", "jpg/gps/DSCN0010.jpg", "jpg/xmp/BlueSquare.jpg"]


def degenerate() -> dict[str, Image.Image]:
    rng = np.random.default_rng(6)
    found: dict[str, Image.Image] = {}
    for colour in [(0, 0, 0), (255, 255, 255), (128, 128, 128), (200, 30, 30), (20, 20, 200)]:
        found[f"flat {colour}"] = Image.new("RGB", (256, 192), colour)
    for level in (40, 128, 220):
        for sd in (1.0, 3.0, 8.0):
            noise = rng.normal(level, sd, (192, 256, 3))
            found[f"noise {level}±{sd}"] = Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8))
    x, y = np.linspace(0, 1, 256)[None, :], np.linspace(0, 1, 192)[:, None]
    for span in (4, 16, 64):
        for name, ramp in (("across", x + 0 * y), ("down", y + 0 * x), ("diagonal", (x + y) / 2)):
            grey = (100 + span * ramp)[..., None].repeat(3, axis=2)
            found[f"gradient {span} {name}"] = Image.fromarray(grey.astype(np.uint8))
    return found


@pytest.mark.parametrize("name", list(degenerate()))
def test_pictures_without_detail_get_no_hash(name: str) -> None:
    assert perceptual_hash(degenerate()[name]) is None


@pytest.mark.parametrize("path", PHOTOS)
def test_photos_keep_imagehashs_value(path: str) -> None:
    with Image.open(EXIF_SAMPLES / path) as photo:
        photo.draft("RGB", (256, 256))
        small = photo.convert("RGB")
    small.thumbnail((256, 256))
    expected = int(str(imagehash.phash(small)), 16)
    found = perceptual_hash(small)
    assert found is not None
    assert found % (1 << 64) == expected  # stored hashes stay comparable


@pytest.mark.parametrize("path", PHOTOS)
def test_a_recompressed_photo_still_hashes_close(path: str) -> None:
    with Image.open(EXIF_SAMPLES / path) as photo:
        original = photo.convert("RGB")
    out = io.BytesIO()
    original.resize((original.width // 2, original.height // 2)).save(out, "JPEG", quality=40)
    copy = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    a, b = perceptual_hash(original), perceptual_hash(copy)
    assert a is not None and b is not None
    assert hamming(a, b) <= 5
