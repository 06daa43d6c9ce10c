"""Deciding whether uploaded bytes are an image we accept, by decoding them (never by name).

Pillow is given an explicit allow-list of formats: without it, `Image.open` identifies EPS by
content and hands it to Ghostscript, and reads FITS and other formats we never meant to accept.
The whole pixel stream is decoded (at reduced scale where the format allows it), because a
truncated JPEG opens fine and fails only when its pixels are read. A PNG whose zlib stream ends
early is worse: Pillow decodes it without complaint and fills the missing rows with zeros (a
130-byte file can declare 144 million pixels that way), so `check_png_stream` inflates the stream
first, in small pieces, and refuses one that does not hold every row.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pillow_heif
from PIL import Image, ImageFile, UnidentifiedImageError

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
    """Register HEIF, switch off Pillow's own bomb check, refuse truncated files.

    We check pixel counts ourselves from the header before decoding (see `open_image`), and the
    memory a decode may take is reserved from the pixel budget, so Pillow's warning is
    redundant. pillow-heif applies the HEIF orientation itself. Truncated images must fail, never
    load with grey or black rows (a library could have switched that on for the process), and
    Pillow keeps no freed image blocks for reuse: freed pixels go back to the system.
    """
    Image.MAX_IMAGE_PIXELS = None
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    Image.core.set_blocks_max(0)  # type: ignore[attr-defined]
    pillow_heif.register_heif_opener()
    Image.init()  # import every plugin now, not in the first upload's thread, holding the GIL


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


# --- PNG: is every row really there? -----------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: Adam7 passes: first column, first row, column step, row step.
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
_INFLATE_PIECE = 256 * 1024
ORIENTATION_TAG = 0x0112


def check_png_stream(path: Path) -> None:
    """Refuse a PNG whose image data inflates to fewer bytes than its header promises.

    Runs before any decoding and holds at most a few hundred KiB, however large the picture.
    """
    with path.open("rb") as handle:
        if handle.read(8) != _PNG_SIGNATURE:
            raise InvalidImage("not a PNG file")
        kind, data = _png_chunk_header(handle)
        if kind != b"IHDR" or data != 13:
            raise InvalidImage("the PNG has no header")
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", handle.read(13))
        handle.read(4)
        if colour not in _PNG_CHANNELS:
            raise InvalidImage("the PNG has an unknown colour type")
        expected = _png_data_bytes(width, height, _PNG_CHANNELS[colour] * depth, interlace == 1)
        inflater = zlib.decompressobj()
        produced, seen_data = 0, False
        while not inflater.eof:
            kind, length = _png_chunk_header(handle)
            if kind != b"IDAT":
                if seen_data or kind == b"IEND":
                    break
                handle.seek(length + 4, 1)
                continue
            seen_data = True
            produced += _inflate_chunk(handle, length, inflater, expected - produced)
            handle.read(4)
    if produced < expected:
        rows = f"{produced} of {expected} bytes of pixel data"
        raise InvalidImage(f"the PNG is truncated: its image data holds only {rows}")


def png_late_orientation(path: Path) -> int:
    """The EXIF orientation of a PNG whose eXIf chunk comes after its image data.

    Pillow reads such a chunk only once the pixels are decoded (and `getexif()` before `load()`
    decodes them to find it); this walks the chunk headers instead. 1 if there is none.
    """
    orientation = 1
    with path.open("rb") as handle:
        handle.seek(len(_PNG_SIGNATURE))
        while True:
            head = handle.read(8)
            if len(head) < 8:
                return orientation
            length, kind = struct.unpack(">I4s", head)
            if kind == b"IEND":
                return orientation
            if kind == b"eXIf" and length < 1 << 20:
                exif = Image.Exif()
                try:
                    exif.load(handle.read(length))
                    orientation = int(exif.get(ORIENTATION_TAG, 1))
                except Exception:  # noqa: BLE001 - an unreadable block orients nothing
                    orientation = 1
                handle.seek(4, 1)
            else:
                handle.seek(length + 4, 1)


def _png_chunk_header(handle: BinaryIO) -> tuple[bytes, int]:
    head = handle.read(8)
    if len(head) < 8:
        raise InvalidImage("the PNG is truncated: it ends before its image data")
    length, kind = struct.unpack(">I4s", head)
    return kind, length


def _png_data_bytes(width: int, height: int, bits: int, interlaced: bool) -> int:
    """Inflated size of the image data: each row is a filter byte and its packed samples."""
    if not interlaced:
        return height * (1 + math.ceil(width * bits / 8))
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        columns = math.ceil((width - x0) / dx) if width > x0 else 0
        rows = math.ceil((height - y0) / dy) if height > y0 else 0
        if columns and rows:
            total += rows * (1 + math.ceil(columns * bits / 8))
    return total


def _inflate_chunk(handle: BinaryIO, length: int, inflater: zlib._Decompress, wanted: int) -> int:
    """Inflate one IDAT chunk, counting the output (kept in pieces, never whole)."""
    produced = 0
    while length > 0 and not inflater.eof:
        data = handle.read(min(length, _INFLATE_PIECE))
        if not data:
            break
        length -= len(data)
        while data and not inflater.eof:
            try:
                out = inflater.decompress(data, _INFLATE_PIECE)
            except zlib.error as exc:
                raise InvalidImage(f"the PNG's image data is damaged: {exc}") from exc
            produced += len(out)
            if produced > wanted:
                return produced  # more than needed: Pillow ignores the rest
            data = inflater.unconsumed_tail
    return produced
