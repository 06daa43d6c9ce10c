"""Which library makes thumbnails fastest here: Pillow (with and without JPEG draft) or pyvips.

Run on purpose, never in `make test`:

    python bench/thumbnail_libs.py                 # Pillow only
    PYTHONPATH=/tmp/pyvips python bench/thumbnail_libs.py   # with pyvips (see below)

pyvips is not a project dependency; to include it without touching the venv:
`apt-get install libvips42` and `pip install --target /tmp/pyvips pyvips`.

Every variant does the same job as the server's thumbnail step: decode, apply EXIF orientation,
fit in 256x256, encode WebP (quality 80). Photos: the real camera JPEGs in ../shared/data.
Reports the median milliseconds per image on one core, and images/s with one process per core.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageOps

BOX = 256
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "exif-samples" / "jpg"
PHOTOS = [
    "hdr/canon_hdr_YES.jpg",  # 2048x1536
    "hdr/iphone_hdr_YES.jpg",  # 3264x2448
    "mobile/jolla.jpg",  # 3264x2448
    "mobile/HMD_Nokia_8.3_5G.jpg",  # 4608x1976
    "tests/42_IndexError.jpg",  # 4032x3024
    "corrupted.jpg",  # 3648x2736
]


def pillow_plain(path: str) -> int:
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail((BOX, BOX))
        out = io.BytesIO()
        image.save(out, "WEBP", quality=80, method=2)
    return len(out.getvalue())


def pillow_draft(path: str) -> int:
    with Image.open(path) as image:
        image.draft("RGB", (BOX, BOX))
        image = ImageOps.exif_transpose(image)
        image.thumbnail((BOX, BOX))
        out = io.BytesIO()
        image.save(out, "WEBP", quality=80, method=2)
    return len(out.getvalue())


def pyvips_thumbnail(path: str) -> int:
    import pyvips  # type: ignore[import-not-found]  # optional, see the module docstring

    thumb = pyvips.Image.thumbnail(path, BOX)  # shrink-on-load + autorotate
    return len(thumb.webpsave_buffer(Q=80, strip=True))


def imagerepo_analysis(path: str) -> int:
    """What the server really runs per upload: validate, EXIF, thumbnail, phash, all in one."""
    from imagerepo.services.analysis import analyse_upload
    from imagerepo.services.inspection import configure_pillow

    configure_pillow()
    return len(analyse_upload(Path(path), 10**9).thumbnail)


VARIANTS: dict[str, Callable[[str], int]] = {
    "Pillow, full decode": pillow_plain,
    "Pillow, draft mode": pillow_draft,
    "pyvips thumbnail": pyvips_thumbnail,
    "imagerepo analyse_upload": imagerepo_analysis,
}


def median_ms(func: Callable[[str], int], paths: list[str], rounds: int) -> float:
    for path in paths:
        func(path)  # warm up: caches, lazy imports
    timings = []
    for _ in range(rounds):
        for path in paths:
            start = time.perf_counter()
            func(path)
            timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def throughput(func: Callable[[str], int], paths: list[str], rounds: int, workers: int) -> float:
    jobs = paths * rounds
    # spawn, not fork: forking after libvips has started its threads deadlocks.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        list(pool.map(func, paths))  # warm up every worker
        start = time.perf_counter()
        list(pool.map(func, jobs))
        return len(jobs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    paths = [str(SHARED / name) for name in PHOTOS]
    cores = os.cpu_count() or 1
    megapixels = [Image.open(p).size for p in paths]
    print(
        f"{len(paths)} camera JPEGs, {min(w * h for w, h in megapixels) / 1e6:.1f}-"
        f"{max(w * h for w, h in megapixels) / 1e6:.1f} MP, box {BOX}px, WebP q80, {cores} cores"
    )
    usable = dict(VARIANTS)
    failures: dict[str, list[str]] = {}
    for name, func in VARIANTS.items():
        for path in paths:
            try:
                func(path)
            except ImportError:
                usable.pop(name)
                print(f"{name}: not installed")
                break
            except Exception as exc:  # noqa: BLE001 - a library refusing a real photo is a finding
                failures.setdefault(name, []).append(
                    f"{Path(path).name} ({str(exc).splitlines()[0]})"
                )
    readable = [
        p for p in paths if not any(Path(p).name in f for v in failures.values() for f in v)
    ]
    for name, failed in failures.items():
        print(f"{name} FAILED on: {'; '.join(failed)}")
    print(f"timed on the {len(readable)} photos every variant reads")
    print(f"{'variant':28} {'ms/image (1 core)':>18} {'images/s (all cores)':>21}")
    for name, func in usable.items():
        ms = median_ms(func, readable, args.rounds)
        rate = throughput(func, readable, args.rounds, cores)
        print(f"{name:28} {ms:18.1f} {rate:21.1f}")


if __name__ == "__main__":
    main()
