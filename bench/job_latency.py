"""Upload → `ready` latency of the derivative jobs, embedded or on procrastinate.

Builds the app in-process (httpx, no network) on a fresh library and uploads `--images`
synthetic 6-megapixel JPEGs (`--small`: 640x480), one at a time: each upload is answered
(201, `processing`), then its state is polled every 5 ms until `ready`; the figure is
acknowledgement → ready: the queue hand-off and the render of the preview and full-size copy.
Then a burst: every upload at once, and the time until the last is ready (throughput).

    .venv/bin/python bench/job_latency.py [--images 20]
    .venv/bin/python bench/job_latency.py --database-url postgresql+asyncpg://.../db --queue
        (runs `imagerepo migrate` and `--workers` `imagerepo worker` subprocesses)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from imagerepo.app import create_app
from imagerepo.config import Settings
from imagerepo.wiring import build_services

ROOT_PASSWORD = "bench-root-password"  # noqa: S105 - a throwaway library
SECRET = "b" * 48


def photo(seed: int, size: tuple[int, int] = (3000, 2000)) -> bytes:
    picture = Image.effect_noise(size, 30 + seed % 20).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for n in range(40):
        x, y = (seed * 97 + n * 131) % size[0], (seed * 53 + n * 71) % size[1]
        draw.ellipse([x, y, x + 300, y + 200], fill=(n * 6 % 256, seed % 256, 120))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=88)
    return out.getvalue()


async def wait_ready(http: httpx.AsyncClient, auth: dict[str, str], image_id: str) -> None:
    # Polling over HTTP, as a client would: the state changes in another task or process.
    while (await http.get(f"/api/v1/images/{image_id}", headers=auth)).json()["state"] != "ready":  # noqa: ASYNC110
        await asyncio.sleep(0.005)


async def run(args: argparse.Namespace, settings: Settings) -> None:
    size = (640, 480) if args.small else (3000, 2000)
    photos = [photo(n, size) for n in range(args.images * 2)]
    async with build_services(settings) as services:
        app = create_app(settings, services=services)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as http,
        ):
            token = await http.post(
                "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
            )
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}

            async def send(data: bytes, n: int) -> dict[str, Any]:
                answer = await http.post(
                    "/api/v1/images", files={"file": (f"p{n}.jpg", data)}, headers=auth
                )
                assert answer.status_code == 201, answer.text
                body: dict[str, Any] = answer.json()
                return body

            latencies = []
            for n in range(args.images):
                created = await send(photos[n], n)
                acked = time.perf_counter()
                await wait_ready(http, auth, created["id"])
                latencies.append(time.perf_counter() - acked)
            latencies.sort()
            print(
                f"one at a time, {args.images} uploads: ack→ready p50"
                f" {statistics.median(latencies) * 1000:.0f} ms, p95"
                f" {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms,"
                f" max {latencies[-1] * 1000:.0f} ms"
            )
            started = time.perf_counter()
            burst = [
                await send(photos[args.images + n], args.images + n) for n in range(args.images)
            ]
            sent = time.perf_counter()
            for created in burst:
                await wait_ready(http, auth, created["id"])
            done = time.perf_counter()
            print(
                f"burst of {args.images}: uploads answered in {sent - started:.1f} s, all ready"
                f" {done - started:.1f} s after the first ({args.images / (done - started):.1f}"
                " images/s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--queue", action="store_true", help="procrastinate in that database")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--small", action="store_true", help="640x480: the queue's own latency")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="imagerepo-jobs-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEREPO_")}
    env.update(
        IMAGEREPO_DATA_DIR=str(data), IMAGEREPO_SECRET_KEY=SECRET, IMAGEREPO_LOG_LEVEL="warning"
    )
    if args.database_url:
        env["IMAGEREPO_DATABASE_URL"] = args.database_url
    if args.queue:
        env["IMAGEREPO_QUEUE_URL"] = args.database_url
    env["PYTHONPATH"] = str(Path(__file__).parents[1] / "src")
    settings = Settings(
        data_dir=data,
        database_url=args.database_url,
        queue_url=args.database_url if args.queue else None,
        root_password=ROOT_PASSWORD,  # type: ignore[arg-type]
        secret_key=SECRET,  # type: ignore[arg-type]
        job_concurrency=args.concurrency,
        cache_size=0 if args.queue else 10_000,  # workers are other processes (no Redis here)
        argon2_time_cost=2,
        argon2_memory_kib=19456,
    )
    command = [sys.executable, "-m", "imagerepo"]
    workers: list[subprocess.Popen[bytes]] = []
    if args.database_url:
        subprocess.run([*command, "migrate"], env=env, check=True)
    if args.queue:
        for _ in range(args.workers):
            workers.append(
                subprocess.Popen(
                    [*command, "worker", "--concurrency", str(args.concurrency)], env=env
                )
            )
    try:
        asyncio.run(run(args, settings))
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait()


if __name__ == "__main__":
    main()
