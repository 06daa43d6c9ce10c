"""The one decode an upload gets: validate, read metadata, make the thumbnail and perceptual hash;
and the decode of every derivative made later.

Both are `CostlyJob`s: their `estimate` opens the file, checks it from its headers (size, frames,
a PNG's whole zlib stream) and says how many bytes the decode will hold, so the worker pool can
reserve them before the decode starts (see `workers.py`, `pixel_budget.py`, `rendering.Plan`).

Decoding once at thumbnail scale (JPEG draft mode, then reduced right after decoding) is what
keeps ingest near the speed of a plain thumbnailing loop; it also proves the whole pixel stream is
readable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from imagerepo.models import Analysis, ImageInfo
from imagerepo.services.inspection import check_png_stream, frame_count, media_type, open_image
from imagerepo.services.metadata import read_metadata
from imagerepo.services.pixel_budget import Cost
from imagerepo.services.rendering import (
    THUMBNAIL_SIZE,
    CopyFormat,
    encode,
    encode_bytes,
    full_copy_format,
    plan,
    render,
    upright_size,
)
from imagerepo.workers import CostlyJob

#: A hash bit is only meaningful if its DCT coefficient stands clear of the median: by more than
#: this (scipy's unnormalised DCT-II of the 32x32 grey picture; a cosine of amplitude A grey
#: levels gives ~1024*A, so this is ~0.2 grey levels).
HASH_MARGIN = 200.0
#: Pictures with fewer clear bits than this (flat colours, faint noise, smooth gradients) get no
#: hash: their bits are rounding noise and would all match each other. Photos have 45-64.
MIN_HASH_BITS = 24
_HASH_SIDE, _DCT_SIDE = 8, 32


def _check_upload(path: Path, max_pixels: int) -> Cost:
    """Headers only (and a PNG's zlib stream, inflated in pieces): refuse bad files before any
    memory is reserved; the cost of the thumbnail decode, and of the largest later render."""
    with open_image(path, max_pixels) as image:
        frame_count(image, max_pixels)  # refuses animations with too many frames
        image.seek(0)
        if image.format == "PNG":
            check_png_stream(path)
        full = plan(image, 0, full_copy_format(media_type(image, path)))
        thumbnail = plan(image, THUMBNAIL_SIZE, "webp")  # after `full`: this one drafts
        return Cost(thumbnail.cost, later=full.cost)


def _analyse(path: Path, max_pixels: int) -> Analysis:
    with open_image(path, max_pixels) as image:
        metadata = read_metadata(image)
        frame_count(image, max_pixels)
        image.seek(0)
        size = image.size  # before `draft`; TIFF's loader reports it upright already
        kind = media_type(image, path)
        rendered = render(image, plan(image, THUMBNAIL_SIZE, "webp"))
    width, height = upright_size(size, rendered.orientation)
    return Analysis(
        info=ImageInfo(media_type=kind, width=width, height=height),
        metadata=metadata,
        thumbnail=encode_bytes(rendered.image, "webp"),
        phash=perceptual_hash(rendered.image),
    )


#: Runs in the worker pool. Raises a 4xx-class error if the bytes are not a usable image.
analyse_upload = CostlyJob(estimate=_check_upload, work=_analyse)


def perceptual_hash(image: Image.Image) -> int | None:
    """64-bit DCT hash as a signed integer (what a BIGINT column holds), or None for a picture
    with too little detail to tell it from others (see `MIN_HASH_BITS`).

    The same bits as `imagehash.phash` (grey, 32x32 Lanczos, DCT-II, the 8x8 lowest frequencies
    against their median), computed here with two matrix products: imagehash would import scipy
    on the first upload, which holds the GIL for most of a second.
    """
    grey = image.convert("L").resize((_DCT_SIDE, _DCT_SIDE), Image.Resampling.LANCZOS)
    low = _low_frequencies(np.asarray(grey, dtype=np.float64))
    median = np.median(low)
    if int((np.abs(low - median) > HASH_MARGIN).sum()) < MIN_HASH_BITS:
        return None
    bits = int("".join("1" if bit else "0" for bit in (low > median).flatten()), 2)
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def _low_frequencies(pixels: np.ndarray) -> np.ndarray:
    """The 8x8 lowest frequencies of scipy's unnormalised 2-D DCT-II of `pixels`."""
    side = pixels.shape[0]
    n = np.arange(side)
    basis = 2 * np.cos(np.pi * np.outer(n, 2 * n + 1) / (2 * side))
    low: np.ndarray = (basis @ pixels @ basis.T)[:_HASH_SIDE, :_HASH_SIDE]
    return low


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def _render_cost(path: Path, max_pixels: int, box: int, fmt: CopyFormat, out: Path) -> Cost:
    with open_image(path, max_pixels) as image:
        return Cost(plan(image, box, fmt).cost)


def _render(path: Path, max_pixels: int, box: int, fmt: CopyFormat, out: Path) -> None:
    with open_image(path, max_pixels) as image:
        picture = render(image, plan(image, box, fmt)).image
    with out.open("wb") as handle:
        encode(picture, fmt, handle, full_size=box == 0)


#: A derivative of the original at `path`, fitted in `box` (0: full size), encoded into `out`.
render_file = CostlyJob(estimate=_render_cost, work=_render)
