"""Turning a decoded image into a display derivative: upright, sRGB, 8-bit, metadata-free, and in
bounded memory.

Derivatives are what other people's browsers see, so nothing private may survive into them:
Pillow re-emits `info["comment"]`, `exif=` would copy GPS back, and some writers fall back to
`image.info`; we encode with `info` emptied and pass no metadata at all.

Memory. A `Plan` is made from the header alone (`plan()`), before any pixel is decoded, and says
what the render will hold at its peak (`Plan.cost`); `render()` then does exactly that:

- the decoder fills one picture in the mode it decodes to (1 byte per pixel for P, L and 1; 2 for
  16-bit grey; 4 for everything else, RGB included), times what the codec holds beside it
  (`DECODE_FACTOR`: WebP, AVIF and HEIF decode into a buffer of their own first); JPEG decodes at
  1/2..1/8 scale when the output is smaller (`draft`); Pillow's TIFF loader applies the EXIF
  orientation itself, one more full copy;
- smaller outputs are reduced right after decoding, a band of rows at a time: each band is
  cropped, converted (P to RGB, 16-bit to 8-bit, ...) and box-reduced, so no full-size converted
  copy ever exists; only then is the small picture resized, turned upright and made sRGB;
- a full-size copy keeps the decoded mode when the output format can hold it (P and L stay one
  byte per pixel in PNG, L in JPEG), converts in bands otherwise, turns upright (one more copy,
  after the first is freed), converts to sRGB in place, and is encoded straight to a file by
  encoders that stream rows (baseline JPEG, PNG). WebP cannot: libwebp holds ~6 bytes per pixel.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from PIL import ExifTags, Image, ImageCms

from imagerepo.errors import InvalidImage
from imagerepo.services.inspection import png_late_orientation

RENDER_VERSION = 1
THUMBNAIL_SIZE = 256
PREVIEW_SIZE = 1440
#: Formats of thumbnails and previews (`?format=`).
OutputFormat = Literal["webp", "jpeg"]
#: Formats of a full-size copy: PNG too, which keeps palette and grey pictures at 1 byte a pixel.
CopyFormat = Literal["webp", "jpeg", "png"]
MEDIA_TYPES: dict[str, str] = {"webp": "image/webp", "jpeg": "image/jpeg", "png": "image/png"}
FORMATS: tuple[CopyFormat, ...] = ("webp", "jpeg", "png")
#: The full-size copy others get: lossless pictures stay lossless, photos stay JPEG.
FULL_COPY_FORMATS: dict[str, CopyFormat] = {"image/png": "png", "image/gif": "png"}

MIB = 1 << 20
#: Reduce by whole factors down to at least this multiple of the output, then resample (as
#: Pillow's `thumbnail(reducing_gap=2.0)`).
REDUCING_GAP = 2.0
#: Bytes of one band (in 4-byte pixels) when converting or reducing a picture piecewise.
BAND_BYTES = 4 * MIB
#: What a decoder holds at its peak, as a multiple of the picture it fills (measured on 16 MP
#: files, Pillow 13: WebP 4.1x, AVIF 2.4-3.0x, HEIF 1.9-2.2x, the others 1.0-1.1x).
DECODE_FACTOR: dict[str, float] = {"WEBP": 4.75, "AVIF": 3.25, "HEIF": 2.5}
#: Formats whose decoder maps the whole file into memory (libtiff): its pages count too.
MAPS_FILE = frozenset({"TIFF"})
#: Bytes per pixel an encoder holds beside the picture (libwebp: 5.5-6.7 measured; baseline JPEG
#: and PNG stream rows; small outputs are progressive, optimised JPEG: ~3).
ENCODER_BYTES_PER_PIXEL: dict[str, float] = {"webp": 7.5, "jpeg": 0.0, "png": 0.0}
SMALL_JPEG_BYTES_PER_PIXEL = 3.0
#: Codec state, line buffers, Python objects: what a job holds whatever the picture.
FIXED_COST = 8 * MIB
MAX_DIMENSION: dict[str, int] = {"webp": 16383, "jpeg": 65500, "png": 1 << 31}
#: Formats whose loader applies the EXIF orientation itself (Pillow's TIFF plugin transposes in
#: `load()` and already reports the upright size when opened); pillow-heif applies the HEIF
#: transform and resets the EXIF tag to 1, so HEIF needs no entry.
ORIENTED_BY_LOADER = frozenset({"TIFF"})
TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def bytes_per_pixel(mode: str) -> int:
    """What Pillow stores per pixel: 1, 2 (16-bit grey) or 4 (RGB is padded to 4 bytes)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def full_copy_format(media_type: str) -> CopyFormat:
    return FULL_COPY_FORMATS.get(media_type, "jpeg")


def orientation_to_apply(image: Image.Image) -> int:
    """The EXIF orientation still to apply to `image` (opened, not loaded) once decoded: 1 for
    none. Never decodes: a PNG may put its eXIf chunk after the pixels, where Pillow finds it
    only by decoding them (`getexif()` on a PNG does that), so the chunks are walked instead."""
    if image.format in ORIENTED_BY_LOADER:
        return 1
    if image.format == "PNG" and "exif" not in image.info:
        filename = getattr(image, "filename", "")  # set by Image.open(path)
        value = png_late_orientation(Path(filename)) if filename else 1
    else:
        try:
            value = image.getexif().get(ExifTags.Base.Orientation, 1)
        except Exception:  # noqa: BLE001 - unreadable EXIF: nothing to apply
            value = 1
    return value if value in TRANSPOSE else 1


def upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def fit(size: tuple[int, int], box: int) -> tuple[int, int]:
    """`size` shrunk (never grown) to fit in `box` x `box`, keeping its aspect ratio."""
    width, height = size
    if box == 0 or (width <= box and height <= box):
        return size
    scale = box / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass(frozen=True, slots=True)
class Plan:
    """What rendering an opened (not yet decoded) picture will do, and hold at its peak."""

    format: str  # Pillow's name of the source format
    mode: str  # as decoded (after `draft`)
    size: tuple[int, int]  # as decoded (after `draft`; TIFF: already upright)
    orientation: int  # EXIF orientation to apply after decoding (1: none)
    loader_transposes: bool  # Pillow's TIFF loader makes an upright copy of its own
    box: int  # 0: full size
    fmt: CopyFormat
    small_mode: str  # mode the picture is reduced in (box > 0)
    copy_mode: str  # mode of the full-size output (box == 0)
    file_bytes: int  # size of the source file

    @property
    def target(self) -> tuple[int, int]:
        """Size of the output, before it is turned upright (the box is square)."""
        return fit(self.size, self.box)

    @property
    def reduce_factor(self) -> int:
        """The whole factor the decoded picture is box-reduced by before resampling."""
        if not self.box:
            return 1
        (width, height), (tw, th) = self.size, self.target
        return max(1, min(int(width / tw / REDUCING_GAP), int(height / th / REDUCING_GAP)))

    @property
    def cost(self) -> int:
        """Peak bytes this render holds (see the module docstring for each step)."""
        width, height = self.size
        pixels = width * height
        decoded = pixels * bytes_per_pixel(self.mode)
        load = decoded * DECODE_FACTOR.get(self.format, 1.0)
        if self.loader_transposes:
            load += decoded
        if self.format in MAPS_FILE:
            load += self.file_bytes
        transposes = self.orientation != 1
        if self.box:
            factor = self.reduce_factor
            small_bpp = bytes_per_pixel(self.small_mode)
            reduced_height = math.ceil(height / factor)
            reduced = math.ceil(width / factor) * reduced_height * small_bpp
            converts = factor > 1 or self.small_mode != self.mode
            shrink = decoded + reduced + 3 * BAND_BYTES if converts else decoded
            # resample (a horizontal pass, then the output), upright copy, sRGB copy, encoder
            tw, th = self.target
            out = tw * th * 4
            encoder = SMALL_JPEG_BYTES_PER_PIXEL if self.fmt == "jpeg" else 0.0
            encoder = ENCODER_BYTES_PER_PIXEL["webp"] if self.fmt == "webp" else encoder
            resample = tw * reduced_height * small_bpp
            if self.small_mode in ("RGBA", "LA"):
                resample += reduced  # Pillow resamples alpha premultiplied, in a copy
            finish = reduced + resample + 3 * out + tw * th * encoder
            peak = max(load, shrink, finish)
        else:
            copy = pixels * bytes_per_pixel(self.copy_mode)
            converts = self.copy_mode != self.mode
            convert = decoded + copy + 3 * BAND_BYTES if converts else decoded
            upright = 2 * copy if transposes else copy
            encode = copy + pixels * ENCODER_BYTES_PER_PIXEL[self.fmt]
            peak = max(load, convert, upright, encode)
        return int(peak) + FIXED_COST


def prepare_decode(image: Image.Image, box: int) -> None:
    """Ask the JPEG decoder to scale by 1/2..1/8 while decoding: far less work for a thumbnail."""
    if box:
        image.draft("RGB", (box, box))


def plan(image: Image.Image, box: int, fmt: CopyFormat) -> Plan:
    """Prepare `image` (opened, not loaded) for a render into `box` (0: full size) as `fmt`.

    Reads headers only. Raises `InvalidImage` if `fmt` cannot hold the picture's size.
    """
    prepare_decode(image, box)
    orientation = orientation_to_apply(image)
    size = image.size
    if not box and max(upright_size(size, orientation)) > MAX_DIMENSION[fmt]:
        raise InvalidImage(f"{size[0]}x{size[1]} pixels is too large for a {fmt} copy")
    tags = getattr(image, "tag_v2", None) if image.format in ORIENTED_BY_LOADER else None
    loader_orientation = tags.get(ExifTags.Base.Orientation, 1) if tags is not None else 1
    return Plan(
        format=image.format or "",
        mode=image.mode,
        size=size,
        orientation=orientation,
        loader_transposes=loader_orientation in TRANSPOSE,
        box=box,
        fmt=fmt,
        small_mode=_reducible_mode(image),
        copy_mode=_copy_mode(image, fmt),
        file_bytes=_file_bytes(image),
    )


def _file_bytes(image: Image.Image) -> int:
    filename = getattr(image, "filename", "")
    try:
        return Path(filename).stat().st_size if filename else 0
    except OSError:
        return 0


@dataclass(frozen=True, slots=True)
class Rendered:
    image: Image.Image
    orientation: int  # the EXIF orientation applied (1: none)


def render(image: Image.Image, plan: Plan) -> Rendered:
    """Decode `image` (opened, planned with `plan`) and make the picture the plan describes;
    `image` is closed afterwards.

    The decoder's own state is dropped as soon as the pixels are in (`detach`), and every
    intermediate picture as soon as the next one exists.
    """
    image.load()
    icc = image.info.get("icc_profile")
    pixels = detach(image)
    if plan.box:
        return Rendered(_small(pixels, plan, icc), plan.orientation)
    return Rendered(_full(pixels, plan, icc), plan.orientation)


def detach(image: Image.Image) -> Image.Image:
    """The decoded pixels on their own, and `image` closed: some plugins (WebP, AVIF) keep a
    decoder holding another copy of the picture for as long as the image is open."""
    pixels = image._new(image.im)
    image.close()
    return pixels


def encode(image: Image.Image, fmt: CopyFormat, out: IO[bytes], *, full_size: bool) -> None:
    """Encode `image` (ours: its `info` is emptied) with no EXIF, XMP, ICC or comment.

    Full-size JPEG is baseline and not optimised: libjpeg then streams rows instead of holding
    the whole picture's coefficients (progressive or optimised coding needs them all).
    """
    transparency = image.info.get("transparency")
    image.info = {}
    if fmt == "jpeg":
        if image.mode not in ("RGB", "L"):
            image = _flatten(image.convert("RGBA"))  # a small preview with alpha: onto white
        if full_size:
            image.save(out, format="JPEG", quality=92)
        else:
            image.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    elif fmt == "png":
        extra = {} if transparency is None else {"transparency": transparency}
        image.save(out, format="PNG", compress_level=6, **extra)
    else:
        quality = 90 if full_size else 80
        image.save(out, format="WEBP", quality=quality, method=2)  # 4 costs 2x for 2% smaller


def encode_bytes(image: Image.Image, fmt: CopyFormat, *, full_size: bool = False) -> bytes:
    out = io.BytesIO()
    encode(image, fmt, out, full_size=full_size)
    return out.getvalue()


# --- small outputs: reduce first, then everything else on the small picture -----------------


def _reducible_mode(image: Image.Image) -> str:
    """The mode a picture is reduced in: one `Image.reduce` supports, 8 bits per channel."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA", "CMYK", "LA"):
        return mode
    if mode == "1" or mode in _SIXTEEN_BIT or mode == "F":
        return "L"
    if mode in ("P", "PA"):
        if _has_alpha(image):
            return "RGBA"
        return "L" if _grey_palette(image) else "RGB"
    return "RGB"


def _small(pixels: Image.Image, plan: Plan, icc: bytes | None) -> Image.Image:
    if plan.reduce_factor > 1 or plan.small_mode != pixels.mode:
        convert = _converter(pixels, plan.small_mode)
        reduced = _in_bands(pixels, plan.small_mode, plan.reduce_factor, convert)
        pixels.close()
    else:
        reduced = pixels
    if reduced.size != plan.target:
        reduced = reduced.resize(plan.target, Image.Resampling.BICUBIC)
    if plan.orientation in TRANSPOSE:
        reduced = reduced.transpose(TRANSPOSE[plan.orientation])
    return _to_srgb(reduced, icc)


def _in_bands(
    source: Image.Image, mode: str, factor: int, convert: Callable[[Image.Image], Image.Image]
) -> Image.Image:
    """`convert` then box-reduce `source` by `factor`, a band of rows at a time, into a new
    picture: no converted copy of the whole source ever exists."""
    width, height = source.size
    out = Image.new(mode, (math.ceil(width / factor), math.ceil(height / factor)))
    rows = max(factor, BAND_BYTES // (4 * width) // factor * factor)
    for top in range(0, height, rows):
        band = convert(source.crop((0, top, width, min(height, top + rows))))
        out.paste(band.reduce(factor) if factor > 1 else band, (0, top // factor))
    return out


def _converter(image: Image.Image, mode: str) -> Callable[[Image.Image], Image.Image]:
    """A function turning pieces of `image` into `mode` (8 bits per channel); transparency
    is flattened onto white when `mode` has no alpha (JPEG)."""
    source = image.mode
    if source == mode:
        return lambda piece: piece
    if source in _SIXTEEN_BIT:
        # 16-bit grey: scale to 8 bits; a plain convert("L") clips to nearly white.
        return lambda piece: _eight_bit_grey(piece).convert(mode)
    if _has_alpha(image) and mode in ("RGB", "L"):
        return lambda piece: _flatten(piece.convert("RGBA")).convert(mode)
    return lambda piece: piece.convert(mode)


def _eight_bit_grey(piece: Image.Image) -> Image.Image:
    return piece.convert("I").point(lambda value: value * (1 / 256)).convert("L")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _grey_palette(image: Image.Image) -> bool:
    """Whether every palette entry is a grey; read from the header (`getpalette()` decodes)."""
    if image.palette is None:
        return False
    rawmode, data = image.palette.getdata()
    step = len(rawmode) if rawmode in ("RGB", "RGBA", "RGBX") else 0
    if not step or not data:
        return False
    return all(data[i] == data[i + 1] == data[i + 2] for i in range(0, len(data) - 2, step))


# --- full size: keep the mode when the format can hold it -------------------------------------


def _copy_mode(image: Image.Image, fmt: CopyFormat) -> str:
    """The mode of a full-size copy of `image` in `fmt`."""
    mode = "L" if image.mode in _SIXTEEN_BIT or image.mode == "F" else image.mode
    if fmt == "png" and mode in ("1", "L", "P", "LA", "RGB", "RGBA"):
        return mode
    if fmt == "jpeg":
        grey = mode in ("1", "L") or (mode == "P" and _grey_palette(image))
        return "L" if grey and not _has_alpha(image) else "RGB"
    return "RGBA" if _has_alpha(image) else "RGB"


def _full(pixels: Image.Image, plan: Plan, icc: bytes | None) -> Image.Image:
    """Colours to sRGB in place (the pixels, or a palette's colours), the mode converted in
    bands if the format needs another, then one upright copy."""
    if icc and pixels.mode in ("RGB", "RGBA"):
        transform = _transform(icc, pixels.mode, pixels.mode)
        if transform is not None:
            _apply(pixels, transform, in_place=True)
    elif icc and pixels.mode == "P":
        _palette_to_srgb(pixels, icc)
    if plan.copy_mode != pixels.mode:
        cmyk = _transform(icc, "CMYK", "RGB") if icc and pixels.mode == "CMYK" else None
        convert = _converter(pixels, plan.copy_mode)
        if cmyk is not None and plan.copy_mode == "RGB":
            convert = functools.partial(_apply, transform=cmyk)
        converted = _in_bands(pixels, plan.copy_mode, 1, convert)
        pixels.close()
        pixels = converted
    if plan.orientation in TRANSPOSE:
        upright = pixels.transpose(TRANSPOSE[plan.orientation])
        pixels.close()
        pixels = upright
    return pixels


def _apply(
    image: Image.Image, transform: ImageCms.ImageCmsTransform, *, in_place: bool = False
) -> Image.Image:
    """`transform` applied, or `image` unchanged if LittleCMS refuses (a broken profile)."""
    try:
        return ImageCms.applyTransform(image, transform, inPlace=in_place) or image
    except (ImageCms.PyCMSError, ValueError):
        return image if in_place or image.mode == "RGB" else image.convert("RGB")


def _palette_to_srgb(image: Image.Image, icc: bytes) -> None:
    """A palette picture's colours are converted, not its pixels."""
    palette = image.getpalette()
    transform = _transform(icc, "RGB", "RGB")
    if not palette or transform is None:
        return
    colours = Image.frombytes("RGB", (len(palette) // 3, 1), bytes(palette))
    image.putpalette(_apply(colours, transform).tobytes())


# --- colour ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _transform(icc: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform | None:
    """Building a transform costs milliseconds; photos from one camera share one profile."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.buildTransform(source, _SRGB, in_mode, out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None  # a broken or mismatched profile: fall back to a plain conversion


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """A small picture in 8-bit sRGB: RGB, or RGBA when it has alpha."""
    target = "RGBA" if image.mode in ("RGBA", "LA") else "RGB"
    transform = _transform(icc, image.mode, target) if icc else None
    if transform is not None:
        try:
            return ImageCms.applyTransform(image, transform) or image
        except (ImageCms.PyCMSError, ValueError):
            pass
    return image if image.mode == target else image.convert(target)


def _flatten(image: Image.Image) -> Image.Image:
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background
