"""The floors the ingest pipeline is measured against, each on the same photos in the same run.

- `copy_floor`: `cp -r` of the folder on the same filesystem (optionally followed by `sync`):
  what moving the bytes from one file to another costs, no network, no processing.
- `bare_asgi_floor`: the bytes POSTed by an httpx client (8 at once, the same multipart shape as
  `imagerepo upload`: one `file` part plus a `visibility` field) to `bare_asgi.py` under uvicorn,
  which only writes each body to disk. What HTTP on loopback + uvicorn cost with this client.
- `thumbnail_floor`: a plain Pillow loop on every core (open, `draft`, `exif_transpose`,
  `thumbnail`, WebP to bytes): the decode+resize work any ingest that makes a thumbnail must do.

`python bench/floors.py bare-client URL DIR [--concurrency N]` is the client half of the ASGI
floor; the bench runs it as a subprocess so it is timed like the CLI, start-up included.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image, ImageOps
from procs import (
    ServerProcess,
    children_cpu_seconds,
    clean_env,
    free_port,
    machine_busy_seconds,
    timed_run,
)

THUMBNAIL_BOX = (256, 256)


BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Timing:
    """How long one floor took, what it was exactly, the CPU seconds each of its processes spent,
    and the CPU seconds the whole machine spent meanwhile (ours and everyone else's)."""

    seconds: float
    note: str = ""
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    machine_cpu_seconds: float = 0.0


def copy_floor(source: Path, target: Path, *, sync: bool) -> Timing:
    """Time `cp -r source target` (then `sync`, when asked); `target` is removed afterwards."""
    if sync:
        subprocess.run(["sync"], check=True)  # start from clean: flush what others left dirty
    cpu, machine = children_cpu_seconds(), machine_busy_seconds()
    started = time.perf_counter()
    subprocess.run(["cp", "-r", str(source), str(target)], check=True)
    if sync:
        subprocess.run(["sync"], check=True)
    seconds = time.perf_counter() - started
    cpu, machine = children_cpu_seconds() - cpu, machine_busy_seconds() - machine
    shutil.rmtree(target)
    note = "into the page cache, then `sync`" if sync else "into the page cache, no sync"
    return Timing(seconds, f"{note}, same filesystem", {"cp": cpu}, machine)


# -- the Pillow decode+resize floor ----------------------------------------------------------


def thumbnail_bytes(path: Path) -> int:
    """One thumbnail the way the floor defines it; returns the WebP's size."""
    with Image.open(path) as image:
        image.draft("RGB", THUMBNAIL_BOX)
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail(THUMBNAIL_BOX)
        out = io.BytesIO()
        upright.save(out, "WEBP")
        return out.tell()


def _nothing(_: int) -> None:
    return None


def thumbnail_floor(paths: list[Path], workers: int) -> Timing:
    """Time thumbnailing every path on `workers` processes (pool started and warm beforehand)."""
    cpu = children_cpu_seconds()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_nothing, range(workers * 4)))  # fork and import before the clock starts
        machine = machine_busy_seconds()
        started = time.perf_counter()
        sizes = list(pool.map(thumbnail_bytes, paths, chunksize=2))
        seconds = time.perf_counter() - started
        machine = machine_busy_seconds() - machine
    cpu = children_cpu_seconds() - cpu  # the workers are reaped when the pool shuts down
    note = f"open, draft, exif_transpose, thumbnail, WebP; {workers} processes"
    note += f", mean thumbnail {sum(sizes) / len(sizes) / 1024:.0f} KiB"
    return Timing(seconds, note, {"workers": cpu}, machine)


# -- the bare ASGI floor -----------------------------------------------------------------------


def bare_asgi_floor(folder: Path, run_dir: Path, concurrency: int) -> Timing:
    """Start `bare_asgi.py` under uvicorn on a free port and time the bare client against it."""
    expected = sorted(folder.glob("*.jpg"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bodies = run_dir / "bare-asgi-bodies"
    bodies.mkdir()
    server = ServerProcess(
        "the bare ASGI app",
        [
            *(sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH_DIR), "bare_asgi:app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
            "--no-access-log",
        ],
        clean_env({"BARE_ASGI_DIR": str(bodies)}),
        run_dir / "bare-asgi.log",
        f"{url}/healthz",
    )
    client = [sys.executable, str(BENCH_DIR / "floors.py"), "bare-client", url, str(folder)]
    with server.start():
        server_cpu, machine = server.cpu_seconds(), machine_busy_seconds()
        run = timed_run([*client, "--concurrency", str(concurrency)])
        server_cpu = server.cpu_seconds() - server_cpu
        machine = machine_busy_seconds() - machine
    written = sorted(bodies.iterdir()) if bodies.is_dir() else []
    if run.returncode != 0 or len(written) != len(expected):
        raise RuntimeError(
            f"bare ASGI floor failed: client exit {run.returncode}, {len(written)} of "
            f"{len(expected)} bodies written\n{run.stdout}{run.stderr}\n{server.log_tail()}"
        )
    shutil.rmtree(bodies)
    note = (
        "raw ASGI app under uvicorn writing each body to a file (no parsing, no fsync); httpx "
        f"client, same multipart shape as imagerepo upload, {concurrency} at once (httpx, not "
        "the faster aiohttp, which is not installed, so it is comparable with our client)"
    )
    return Timing(run.seconds, note, {"server": server_cpu, "client": run.cpu_seconds}, machine)


# -- the bare ASGI floor: client half --------------------------------------------------------


async def post_all(url: str, paths: list[Path], concurrency: int) -> dict[int, int]:
    """POST every file as multipart (`file` part + `visibility` field), `concurrency` at once,
    each opened only when it is sent (as `imagerepo upload` does); returns status → count."""
    statuses: dict[int, int] = {}
    queue = iter(paths)
    timeout = httpx.Timeout(connect=10.0, read=120.0, write=120.0, pool=None)
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:

        async def worker() -> None:
            for path in queue:
                with path.open("rb") as fh:
                    response = await client.post(
                        "/upload",
                        data={"visibility": "public"},
                        files={"file": (path.name, fh, "image/jpeg")},
                    )
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(paths))))))
    return statuses


def _bare_client_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="floors.py bare-client")
    parser.add_argument("url")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    paths = sorted(args.folder.glob("*.jpg"))
    statuses = asyncio.run(post_all(args.url, paths, args.concurrency))
    print(" ".join(f"{status}:{count}" for status, count in sorted(statuses.items())))
    return 0 if set(statuses) == {201} else 1


if __name__ == "__main__":
    if sys.argv[1:2] != ["bare-client"]:
        sys.exit("usage: floors.py bare-client URL DIR [--concurrency N]")
    sys.exit(_bare_client_main(sys.argv[2:]))
