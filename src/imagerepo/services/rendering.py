"""Turning a decoded image into a display derivative: upright, sRGB, 8-bit, small, metadata-free.

Derivatives are what other people's browsers see, so nothing private may survive into them:
Pillow re-emits `info["comment"]`, `exif=` would copy GPS back, and some writers fall back to
`image.info`; we encode from a copy whose `info` is emptied and pass no metadata at all.
"""

from __future__ import annotations

import functools
import io
from typing import Literal

from PIL import Image, ImageCms, ImageOps

RENDER_VERSION = 1
THUMBNAIL_SIZE = 256
PREVIEW_SIZE = 1440
OutputFormat = Literal["webp", "jpeg"]
MEDIA_TYPES: dict[str, str] = {"webp": "image/webp", "jpeg": "image/jpeg"}
FORMATS: tuple[OutputFormat, ...] = ("webp", "jpeg")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def prepare_decode(image: Image.Image, box: int) -> None:
    """Ask the JPEG decoder to scale by 1/2..1/8 while decoding: far less work for a thumbnail."""
    if box:
        image.draft("RGB", (box, box))


def display_copy(image: Image.Image, box: int) -> Image.Image:
    """Upright, fitted in `box`x`box` (0: full size), 8-bit sRGB (RGB, or RGBA with alpha)."""
    image = ImageOps.exif_transpose(image)
    image = _eight_bit(image)
    if box:
        image.thumbnail((box, box), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return _to_srgb(image)


def encode(image: Image.Image, fmt: OutputFormat, *, full_size: bool = False) -> bytes:
    """Encode with no EXIF, XMP, ICC or comment carried over (higher quality at full size)."""
    clean = image.copy()
    clean.info = {}
    out = io.BytesIO()
    if fmt == "jpeg":
        if clean.mode != "RGB":
            clean = _flatten(clean)
        quality = 92 if full_size else 85
        clean.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    else:
        quality = 90 if full_size else 80
        clean.save(out, format="WEBP", quality=quality, method=2)  # 4 costs 2x for 2% smaller
    return out.getvalue()


def _eight_bit(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit greyscale: scale to 8 bits; a plain convert("L") clips to nearly white.
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if mode == "F":
        return image.convert("L")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    if mode in ("RGB", "L", "CMYK"):
        return image
    return image.convert("RGB")


@functools.lru_cache(maxsize=64)
def _transform(icc: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform | None:
    """Building a transform costs milliseconds; photos from one camera share one profile."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.buildTransform(source, _SRGB, in_mode, out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None  # a broken or mismatched profile: fall back to a plain conversion


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    target = "RGBA" if image.mode == "RGBA" else "RGB"
    transform = _transform(icc, image.mode, target) if icc else None
    if transform is not None:
        try:
            return ImageCms.applyTransform(image, transform) or image
        except (ImageCms.PyCMSError, ValueError):
            pass
    return image if image.mode == target else image.convert(target)


def _flatten(image: Image.Image) -> Image.Image:
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A") if image.mode == "RGBA" else None)
    return background
