"""Deterministic, photo-like JPEGs with camera EXIF, cached on disk, for the ingest benchmark.

Why not random noise: a JPEG of pure noise is 3-4x larger than a photo and decodes differently,
so the bytes/s and decode numbers would describe no real library. Each picture here is a sky
gradient over a horizon, a few soft shapes, a mid-frequency "foliage" texture that varies by
region and a little sensor noise, encoded at quality 90 with 4:2:0 chroma, which lands at about
1-2 MB for 3 MP and 4-6 MB for 12 MP, like a phone or compact camera.

Every file depends only on (GENERATOR_VERSION, seed, size, index), so a set is byte-identical
on every machine with the same Pillow/libjpeg, and a finished set is reused from its folder
(named after every parameter) instead of being drawn again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter
from PIL.ExifTags import GPS, IFD, Base
from PIL.TiffImagePlugin import IFDRational

GENERATOR_VERSION = 1
STALE_TMP_SECONDS = 600
SIZES: dict[str, tuple[int, int]] = {"3mp": (2048, 1536), "12mp": (4000, 3000)}
# Per-pixel detail is a little lower at 12 MP (lens softness): bigger files, not 4x bigger.
TEXTURE = {"3mp": 44.0, "12mp": 37.0}
GRAIN = {"3mp": 10.0, "12mp": 8.5}
CHROMA = {"3mp": 12.0, "12mp": 10.0}
DETAILS = {"3mp": 3000, "12mp": 6000}

CAMERAS: tuple[tuple[str, str, int], ...] = (  # make, model, focal length (mm)
    ("Canon", "Canon EOS 80D", 35),
    ("NIKON CORPORATION", "NIKON D7500", 50),
    ("FUJIFILM", "X-T30", 23),
    ("Apple", "iPhone 13", 5),
    ("SONY", "ILCE-6400", 85),
)
EXPOSURES = ((1, 60), (1, 125), (1, 250), (1, 1000), (1, 30))
APERTURES = ((18, 10), (28, 10), (40, 10), (56, 10), (80, 10))
ISOS = (100, 200, 400, 800, 1600)


@dataclass(frozen=True, slots=True)
class PhotoSet:
    """The parameters that decide every byte of a set (and so its cache folder's name)."""

    count_3mp: int
    count_12mp: int
    quality: int = 90
    seed: int = 2021

    @property
    def key(self) -> str:
        return (
            f"v{GENERATOR_VERSION}-s{self.seed}-q{self.quality}"
            f"-{self.count_3mp}x3mp-{self.count_12mp}x12mp"
        )

    def jobs(self) -> list[tuple[str, int]]:
        return [("3mp", i) for i in range(self.count_3mp)] + [
            ("12mp", i) for i in range(self.count_12mp)
        ]


def file_name(size: str, index: int) -> str:
    return f"{size}_{index:04d}.jpg"


def ensure_photos(photo_set: PhotoSet, cache_root: Path, workers: int = 2) -> Path:
    """The folder holding `photo_set`, drawn now (on `workers` processes) unless already complete.

    The folder is complete when its manifest (beside it) lists every file with the size it has
    on disk, and it holds nothing else (it is uploaded as is). Each file is written under a temp
    name and renamed, so an interrupted run resumes where it stopped.
    """
    folder = cache_root / photo_set.key
    manifest_path = _manifest_path(folder)
    if _complete(folder, photo_set):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob(".*.tmp"):
        if time.time() - leftover.stat().st_mtime > STALE_TMP_SECONDS:  # an interrupted run's
            leftover.unlink(missing_ok=True)
    todo = [(s, i) for s, i in photo_set.jobs() if not (folder / file_name(s, i)).is_file()]
    if todo:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            args = [(folder, photo_set.seed, photo_set.quality, s, i) for s, i in todo]
            # Big pictures first, so the workers finish together.
            args.sort(key=lambda a: a[3] != "12mp")
            list(pool.map(_write_one, args, chunksize=1))
    files = {
        file_name(s, i): (folder / file_name(s, i)).stat().st_size for s, i in photo_set.jobs()
    }
    manifest = {"params": asdict(photo_set), "version": GENERATOR_VERSION, "files": files}
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return folder


def _manifest_path(folder: Path) -> Path:
    # Beside the folder, not in it: the folder is uploaded as is and must hold only the photos.
    return folder.with_name(folder.name + ".manifest.json")


def photo_paths(folder: Path) -> list[Path]:
    """The set's JPEGs in the order the client sends them (sorted by name)."""
    return sorted(folder.glob("*.jpg"))


def _complete(folder: Path, photo_set: PhotoSet) -> bool:
    try:
        manifest = json.loads(_manifest_path(folder).read_text())
        files: dict[str, int] = manifest["files"]
        expected = {file_name(s, i) for s, i in photo_set.jobs()}
        present = {p.name for p in folder.iterdir()}
        return set(files) == expected == present and all(
            (folder / name).stat().st_size == size for name, size in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _write_one(args: tuple[Path, int, int, str, int]) -> None:
    folder, seed, quality, size, index = args
    target = folder / file_name(size, index)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    image, exif = draw_photo(seed, size, index)
    image.save(tmp, "JPEG", quality=quality, subsampling="4:2:0", exif=exif)
    tmp.replace(target)


def draw_photo(seed: int, size: str, index: int) -> tuple[Image.Image, Image.Exif]:
    """One picture and its EXIF; depends only on the arguments.

    The smooth scene and the textures are made at half size and scaled up once (an 8-bit RGB
    resize is cheap; float layers at full size are not), then the sharp details and the grain
    are added at full size.
    """
    rng = np.random.default_rng([seed, GENERATOR_VERSION, len(size), index])
    width, height = SIZES[size]
    half = (width // 2, height // 2)
    scene = _scene(rng, width // 8, height // 8).resize(half, Image.Resampling.BICUBIC)
    pixels = np.asarray(scene, dtype=np.float32)
    pixels += _texture(rng, *half, TEXTURE[size])[..., None]
    pixels += _chroma(rng, *half, CHROMA[size])
    np.clip(pixels, 0, 255, out=pixels)
    textured = Image.fromarray(pixels.astype(np.uint8), "RGB")
    image = textured.resize((width, height), Image.Resampling.BICUBIC)
    _details(rng, image, DETAILS[size])
    return _grain(rng, image, GRAIN[size]), _exif(rng, index)


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in rng.integers(low, high, size=3))
    return r, g, b


def _scene(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """The smooth part at 1/8 scale: sky gradient, ground, soft shapes."""
    top, bottom = np.array(_colour(rng, 40, 200)), np.array(_colour(rng, 120, 256))
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    sky = (top * (1 - t) + bottom * t).repeat(width, axis=1)
    horizon = int(height * rng.uniform(0.35, 0.7))
    ground_top, ground_bottom = np.array(_colour(rng, 20, 160)), np.array(_colour(rng, 0, 120))
    g = np.linspace(0.0, 1.0, height - horizon, dtype=np.float32)[:, None, None]
    sky[horizon:] = (ground_top * (1 - g) + ground_bottom * g).repeat(width, axis=1)
    image = Image.fromarray(sky.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(int(rng.integers(4, 10))):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        rx, ry = rng.uniform(width * 0.03, width * 0.25), rng.uniform(height * 0.03, height * 0.3)
        fill = (*_colour(rng), int(rng.integers(120, 255)))
        if rng.random() < 0.5:
            draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=fill)
        else:
            points = [
                (x + rx * np.cos(a), y + ry * np.sin(a))
                for a in np.sort(rng.uniform(0, 2 * np.pi, size=int(rng.integers(3, 7))))
            ]
            draw.polygon([(float(px), float(py)) for px, py in points], fill=fill)
    return image.filter(ImageFilter.GaussianBlur(0.8))


def _details(rng: np.random.Generator, image: Image.Image, count: int) -> None:
    """Small sharp-edged blobs and strokes in the colours around them (leaves, stones, twigs):
    the edges that real photos are full of and that JPEG spends its bytes on."""
    width, height = image.size
    draw = ImageDraw.Draw(image, "RGBA")
    unit = width / 100
    xs, ys = rng.uniform(0, width, count), rng.uniform(0, height, count)
    shifts = rng.integers(-45, 46, size=(count, 3))
    for x, y, shift in zip(xs, ys, shifts, strict=True):
        r, g, b = image.getpixel((int(x), int(y)))  # type: ignore[misc]
        fill = (
            min(255, max(0, r + int(shift[0]))),
            min(255, max(0, g + int(shift[1]))),
            min(255, max(0, b + int(shift[2]))),
            int(rng.integers(120, 256)),
        )
        rx, ry = rng.uniform(unit * 0.15, unit * 1.2), rng.uniform(unit * 0.15, unit * 1.2)
        kind = rng.random()
        if kind < 0.6:
            draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=fill)
        elif kind < 0.85:
            draw.rectangle((x - rx, y - ry, x + rx, y + ry), fill=fill)
        else:
            angle = rng.uniform(0, np.pi)
            dx, dy = float(np.cos(angle) * rx * 4), float(np.sin(angle) * rx * 4)
            draw.line((x - dx, y - dy, x + dx, y + dy), fill=fill, width=max(1, int(unit / 8)))


def _chroma(
    rng: np.random.Generator, width: int, height: int, amplitude: float
) -> NDArray[np.float32]:
    """Colour variation over a few pixels, independent per channel."""
    small = rng.normal(0.0, amplitude, size=(3, height // 2 + 1, width // 2 + 1))
    return np.stack([_upscale(c, width, height) for c in small], axis=-1)


def _texture(
    rng: np.random.Generator, width: int, height: int, amplitude: float
) -> NDArray[np.float32]:
    """Luminance detail at a few scales, strong in some regions and faint in others."""
    total = rng.normal(0.0, 0.5, size=(height, width)).astype(np.float32)
    for scale, weight in ((8, 0.6), (2, 0.8)):
        small = rng.normal(0.0, weight, size=(height // scale + 1, width // scale + 1))
        total += _upscale(small, width, height)
    total *= _upscale(rng.uniform(0.15, 1.0, size=(4, 5)), width, height) * amplitude
    return total


def _grain(rng: np.random.Generator, image: Image.Image, amplitude: float) -> Image.Image:
    """Sensor noise, in luminance only, at full size."""
    width, height = image.size
    noise = rng.standard_normal((height, width, 1), dtype=np.float32)
    noise *= amplitude
    pixels = np.asarray(image).astype(np.int16)
    pixels += noise.astype(np.int16)
    np.clip(pixels, 0, 255, out=pixels)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def _upscale(small: NDArray[np.float64], width: int, height: int) -> NDArray[np.float32]:
    layer = Image.fromarray(small.astype(np.float32), "F")
    return np.asarray(layer.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def _exif(rng: np.random.Generator, index: int) -> Image.Exif:
    """Camera EXIF: always make/model/time/exposure; GPS on one in three, rotated one in five."""
    make, model, focal = CAMERAS[index % len(CAMERAS)]
    exif = Image.Exif()
    exif[Base.Make] = make
    exif[Base.Model] = model
    exif[Base.Software] = "imagerepo bench"
    exif[Base.Orientation] = (6, 8, 3)[index % 3] if index % 5 == 4 else 1
    stamp = (
        f"20{18 + index % 7:02d}:{1 + index % 12:02d}:{1 + index % 28:02d} "
        f"{int(rng.integers(6, 21)):02d}:{int(rng.integers(0, 60)):02d}:{index % 60:02d}"
    )
    exif[Base.DateTime] = stamp
    sub = exif.get_ifd(IFD.Exif)
    sub[Base.DateTimeOriginal] = stamp
    sub[Base.ExposureTime] = IFDRational(*EXPOSURES[index % len(EXPOSURES)])
    sub[Base.FNumber] = IFDRational(*APERTURES[index % len(APERTURES)])
    sub[Base.ISOSpeedRatings] = ISOS[index % len(ISOS)]
    sub[Base.FocalLength] = IFDRational(focal, 1)
    if index % 3 == 0:
        gps = exif.get_ifd(IFD.GPSInfo)
        lat, lon = float(rng.uniform(-60, 70)), float(rng.uniform(-170, 170))
        gps[GPS.GPSVersionID] = b"\x02\x03\x00\x00"
        gps[GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps[GPS.GPSLatitude] = _dms(abs(lat))
        gps[GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        gps[GPS.GPSLongitude] = _dms(abs(lon))
    return exif


def _dms(value: float) -> Sequence[IFDRational]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return (IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 100))
