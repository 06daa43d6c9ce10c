"""Reported size == served size, upright, for every EXIF orientation and format (issue 7, #8).

Pillow's TIFF loader applies the orientation itself (and reports the upright size as soon as the
file is opened); the server used to swap width and height once more for orientations 5-8.
Each file here stores the same upright picture turned by the inverse of its orientation tag, so
whatever the format, everyone must see the same 60x40 picture with the same corners.
"""

from __future__ import annotations

import io

import httpx
import pillow_heif
import pytest
from PIL import Image, ImageDraw

from tests.api.helpers import upload

UPRIGHT_SIZE = (60, 40)
CORNERS = {"top-left": "red", "top-right": "lime", "bottom-left": "blue", "bottom-right": "yellow"}
#: What a viewer must do to the stored pixels for each orientation, and its inverse.
TO_UPRIGHT: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
INVERSE = {Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90}
INVERSE[Image.Transpose.ROTATE_90] = Image.Transpose.ROTATE_270
FORMATS = {
    "JPEG": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "TIFF": "tif",
    "AVIF": "avif",
    "HEIF": "heic",
}
pillow_heif.register_heif_opener()  # to write the HEIF files (the server registers its own)


def upright() -> Image.Image:
    picture = Image.new("RGB", UPRIGHT_SIZE, "grey")
    draw = ImageDraw.Draw(picture)
    width, height = UPRIGHT_SIZE
    boxes = {
        "top-left": (0, 0, 14, 14),
        "top-right": (width - 15, 0, width - 1, 14),
        "bottom-left": (0, height - 15, 14, height - 1),
        "bottom-right": (width - 15, height - 15, width - 1, height - 1),
    }
    for corner, box in boxes.items():
        draw.rectangle(box, fill=CORNERS[corner])
    return picture


def stored(fmt: str, orientation: int) -> bytes:
    """The upright picture turned so that applying `orientation` turns it back."""
    picture = upright()
    method = TO_UPRIGHT[orientation]
    if method is not None:
        picture = picture.transpose(INVERSE.get(method, method))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    extra = {"quality": 95} if fmt in ("JPEG", "WEBP", "AVIF", "HEIF") else {}
    picture.save(out, format=fmt, exif=exif.tobytes(), **extra)
    return out.getvalue()


def corner_colours(picture: Image.Image) -> dict[str, tuple[int, ...]]:
    rgb = picture.convert("RGB")
    width, height = rgb.size
    points = {
        "top-left": (4, 4),
        "top-right": (width - 5, 4),
        "bottom-left": (4, height - 5),
        "bottom-right": (width - 5, height - 5),
    }
    return {corner: tuple(rgb.getpixel(point)) for corner, point in points.items()}  # type: ignore[arg-type]


def assert_upright(data: bytes) -> None:
    picture = Image.open(io.BytesIO(data))
    assert picture.size == UPRIGHT_SIZE
    expected = corner_colours(upright())
    for corner, colour in corner_colours(picture).items():
        distance = sum(abs(a - b) for a, b in zip(colour, expected[corner], strict=True))
        assert distance < 90, (corner, colour, expected[corner])


@pytest.mark.parametrize("fmt", list(FORMATS))
async def test_every_orientation_reports_and_serves_the_upright_size(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str], fmt: str
) -> None:
    for orientation in range(1, 9):
        data = stored(fmt, orientation)
        image = await upload(http, alice, data, name=f"o{orientation}.{FORMATS[fmt]}")
        assert (image["width"], image["height"]) == UPRIGHT_SIZE, (fmt, orientation)
        if fmt != "HEIF":  # pillow-heif applies the HEIF transform and resets the tag to 1
            assert image["metadata"].get("orientation", 1) == orientation
        for route in ("file", "preview", "thumbnail"):
            served = await http.get(f"/api/v1/images/{image['id']}/{route}", headers=bob)
            assert served.status_code == 200, (fmt, orientation, route, served.text)
            assert_upright(served.content)


async def test_a_png_whose_exif_comes_after_its_pixels_is_turned_too(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    data = stored("PNG", 6)
    start = data.index(b"eXIf") - 4
    length = int.from_bytes(data[start : start + 4], "big")
    chunk = data[start : start + 12 + length]
    moved = data[:start] + data[start + len(chunk) :]
    end = moved.index(b"IEND") - 4
    moved = moved[:end] + chunk + moved[end:]  # eXIf after IDAT: Pillow reads it only on load
    image = await upload(http, alice, moved, name="late.png")
    assert (image["width"], image["height"]) == UPRIGHT_SIZE
    served = await http.get(f"/api/v1/images/{image['id']}/file", headers=bob)
    assert served.status_code == 200
    assert_upright(served.content)
