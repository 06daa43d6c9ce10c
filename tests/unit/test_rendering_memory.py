"""What a decode costs: the estimate reads headers only, and covers what the render really holds.

Peaks are measured in a fresh interpreter each (VmHWM, reset before the render): the pool
reserves `Plan.cost` from the pixel budget, so a render that held more would break the bound.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageFile

from imagerepo.services.analysis import analyse_upload, render_file
from imagerepo.services.inspection import configure_pillow
from tests.bombs import GREY, PALETTE, gif_bomb, png_bomb

MIB = 1 << 20
pillow_heif.register_heif_opener()
EXIF_ROTATED = Image.Exif()
EXIF_ROTATED[0x0112] = 6


def photo(width: int, height: int) -> Image.Image:
    """Noisy enough that codecs cannot shortcut it."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, width)[None, :] * np.linspace(0.2, 1, height)[:, None]
    pixels = np.stack([ramp, ramp[::-1], np.full_like(ramp, 90)], -1)
    pixels += rng.normal(0, 20, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def save(picture: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    picture.save(out, format=fmt, **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("decode-cost")
    picture = photo(3000, 2000)
    contents = {
        "jpeg-rotated.jpg": save(picture, "JPEG", quality=85, exif=EXIF_ROTATED.tobytes()),
        "rgb.png": save(picture, "PNG", compress_level=1),
        "palette.png": save(picture.convert("P"), "PNG", compress_level=1),
        "grey16.png": save(
            Image.fromarray(np.asarray(picture.convert("L"), dtype=np.uint16) * 256), "PNG"
        ),
        "rgba.png": save(picture.convert("RGBA"), "PNG", compress_level=1),
        "photo.webp": save(picture, "WEBP", quality=80),
        "rotated.tif": save(
            picture, "TIFF", compression="tiff_adobe_deflate", exif=EXIF_ROTATED.tobytes()
        ),
        "photo.avif": save(picture, "AVIF", quality=50, speed=10),
        "photo.heic": save(picture.resize((1500, 1000)), "HEIF", quality=50),  # x265 is slow
        "screen.gif": gif_bomb(12_000, 12_000),
        "bits.png": png_bomb(12_000, 12_000, colour_type=GREY, depth=1),
        "indexed.png": png_bomb(8_000, 8_000, colour_type=PALETTE, depth=8),
    }
    paths = {}
    for name, data in contents.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def test_estimates_read_headers_only(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No estimate may decode: that would be the very allocation it is meant to guard."""
    configure_pillow()

    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError(f"{self.format} decoded while estimating")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    for path in files.values():
        analyse_upload.estimate(path, 10**9)
        for box, fmt in ((256, "webp"), (1440, "jpeg"), (0, "jpeg"), (0, "png"), (0, "webp")):
            render_file.estimate(path, 10**9, box, fmt, tmp_path / "out")


MEASURE = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from imagerepo.services.analysis import render_file
    from imagerepo.services.inspection import configure_pillow
    from imagerepo.workers import WorkerPool

    configure_pillow()
    WorkerPool(1)  # tunes malloc as the server does
    path, box, fmt = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    cost = render_file.estimate(path, 10**9, box, fmt, Path(os.devnull)).peak

    def kib(field):
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith(field + ":"))

    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = kib("VmRSS")
    render_file.work(path, 10**9, box, fmt, Path(os.devnull))
    print(json.dumps({"cost": cost, "peak": (kib("VmHWM") - before) * 1024}))
    """
)


def measured(path: Path, box: int, fmt: str) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(box), fmt],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
        timeout=120,
    )
    found = json.loads(done.stdout)
    return int(found["cost"]), int(found["peak"])


CASES = [
    ("jpeg-rotated.jpg", 0, "jpeg"),  # decode, then one upright copy
    ("rgb.png", 256, "webp"),
    ("rgb.png", 0, "webp"),  # libwebp's own buffers
    ("palette.png", 1440, "jpeg"),
    ("grey16.png", 1440, "jpeg"),  # 16-bit scaled to 8 in bands
    ("grey16.png", 0, "webp"),
    ("rgba.png", 1440, "jpeg"),  # alpha resampled premultiplied: a copy
    ("photo.webp", 256, "webp"),  # the decoder holds ~4x the picture
    ("rotated.tif", 256, "webp"),  # libtiff maps the file; the loader turns it upright
    ("photo.avif", 0, "jpeg"),
    ("photo.heic", 0, "jpeg"),
    ("bits.png", 256, "webp"),
    ("indexed.png", 0, "png"),
]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(("name", "box", "fmt"), CASES)
def test_the_estimate_covers_the_measured_peak(
    files: dict[str, Path], name: str, box: int, fmt: str
) -> None:
    cost, peak = measured(files[name], box, fmt)
    assert peak <= cost, f"{name}: held {peak / MIB:.0f} MiB, reserved {cost / MIB:.0f} MiB"
    assert cost <= 2 * peak + 32 * MIB, f"{name}: reserved {cost / MIB:.0f} MiB, far above"


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_bombs_are_reduced_in_their_own_mode(files: dict[str, Path]) -> None:
    """144 MP at 1 bit decodes to 144 MB in mode 1; an RGB copy would be 4 times that."""
    cost, peak = measured(files["bits.png"], 256, "webp")
    assert peak < 144e6 + 40 * MIB
    cost, peak = measured(files["indexed.png"], 0, "png")  # full-size copy stays mode P
    assert peak < 64e6 + 24 * MIB
    assert cost < 64e6 + 24 * MIB


RELEASE = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from imagerepo.services.analysis import analyse_upload, render_file
    from imagerepo.services.inspection import configure_pillow
    from imagerepo.workers import WorkerPool

    def rss():
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmRSS:")) * 1024

    async def main():
        configure_pillow()
        pool = WorkerPool(2)
        big, out = Path(sys.argv[1]), Path(sys.argv[2])
        await pool.run(analyse_upload, Path(sys.argv[3]), 10**9)  # warm up
        before = rss()
        for _ in range(3):
            await asyncio.gather(
                pool.run(analyse_upload, big, 10**9),
                pool.run(render_file, big, 10**9, 0, "png", out),
            )
        await asyncio.sleep(0.2)
        print(json.dumps({"before": before, "after": rss()}))
        pool.shutdown()

    asyncio.run(main())
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_memory_goes_back_to_the_system_after_large_decodes(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """glibc used to keep hundreds of MB of freed pixels in its per-thread heaps."""
    small = tmp_path / "small.png"
    small.write_bytes(save(photo(64, 48), "PNG"))
    done = subprocess.run(
        [sys.executable, "-c", RELEASE, str(files["rgb.png"]), str(tmp_path / "out"), str(small)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = json.loads(done.stdout)
    assert found["after"] - found["before"] < 40 * MIB, found
