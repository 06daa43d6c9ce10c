"""The gallery's first page at 100 000 images: `GET /` and the first `GET /api/v1/images` page,
timed through HTTP against a real server with the metadata cache off.

Rows are loaded straight into the database in batches (`ImageRepository.add_many`, one
transaction per batch: no files, no decoding), owned by 20 users, 90 % public, uploads spread
over three years, 70 % with a capture time up to a year before the upload. Then the server starts
on them and each URL is asked `--repeat` times after a warm-up, anonymously and signed in
(session cookie: public images plus the viewer's own). The issue's target: under 50 ms of server
time. `/healthz` is timed the same way as the floor of the loopback round trip; what is above it
is the server's.

    .venv/bin/python bench/gallery.py [--images 100000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from procs import ServerProcess, clean_env, free_port

from imagerepo.db.engine import create_engine, migrate, session_factory
from imagerepo.db.repos.images import ImageRepository
from imagerepo.db.repos.users import UserRepository
from imagerepo.models import Image, PhotoMetadata, User, Visibility
from imagerepo.services.ids import new_id

TARGET_MS = 50.0
ROOT_PASSWORD = "bench-root-password"  # noqa: S105 - a throwaway server's
BATCH = 5_000
OWNERS = 20
# The gallery's first page, and the API's first page in upload order and in the gallery's order.
PATHS = ("/", "/api/v1/images?limit=50", "/api/v1/images?limit=60&sort=taken_at")


def fake_image(owner: User, n: int, start: datetime) -> Image:
    created = start + timedelta(seconds=n * 900 + random.randrange(600))
    taken = created - timedelta(hours=random.randrange(1, 9000)) if random.random() < 0.7 else None
    return Image(
        id=new_id(),
        owner_id=owner.id,
        owner=owner.username,
        title=f"photo {n:06d}",
        filename=f"IMG_{n:06d}.jpg",
        description=random.choice(["", "beach at dusk", "city lights", "birthday", "forest walk"]),
        visibility=Visibility.PUBLIC if random.random() < 0.9 else Visibility.PRIVATE,
        sha256=random.randbytes(32).hex(),
        size=random.randrange(200_000, 8_000_000),
        media_type="image/jpeg",
        width=4000,
        height=3000,
        created_at=created,
        taken_at=taken,
        metadata=PhotoMetadata(taken_at=taken),
    )


async def load(data_dir: Path, count: int, viewer: User) -> float:
    """Migrate a fresh database and insert `count` image rows; returns the seconds it took."""
    engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'imagerepo.db'}")
    started = time.perf_counter()
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        users = UserRepository(sessions)
        owners = [viewer]
        for k in range(1, OWNERS):
            owner = User(new_id(), f"owner{k}", False, datetime.now(UTC))
            owners.append(await users.add(owner, "not-a-hash", skeleton=owner.username))
        await users.add(viewer, "not-a-hash", skeleton=viewer.username)
        images = ImageRepository(sessions)
        start = datetime.now(UTC) - timedelta(seconds=count * 900)
        for first in range(0, count, BATCH):
            await images.add_many(
                [
                    fake_image(owners[n % OWNERS], n, start)
                    for n in range(first, min(first + BATCH, count))
                ]
            )
    finally:
        await engine.dispose()
    return time.perf_counter() - started


def timings(client: httpx.Client, url: str, repeat: int) -> list[float]:
    for _ in range(5):
        client.get(url).raise_for_status()
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(url)
        found.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    random.seed(7)
    with tempfile.TemporaryDirectory(prefix="imagerepo-gallery-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        viewer = User(new_id(), "viewer", False, datetime.now(UTC))
        seconds = asyncio.run(load(data_dir, args.images, viewer))
        print(f"loaded {args.images} rows in {seconds:.1f} s")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = clean_env(
            {
                "IMAGEREPO_DATA_DIR": str(data_dir),
                "IMAGEREPO_PORT": str(port),
                "IMAGEREPO_CACHE_SIZE": "0",
                "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
                "IMAGEREPO_WRITE_CLIENT_LOGIN": "false",
                "IMAGEREPO_CONFIG": str(Path(tmp) / "client.json"),
                "IMAGEREPO_LOG_LEVEL": "warning",
            }
        )
        command = [sys.executable, "-m", "imagerepo", "serve"]
        server = ServerProcess(
            "imagerepo", command, env, Path(tmp) / "server.log", f"{url}/healthz"
        )
        with (
            server.start(),
            httpx.Client(base_url=url) as anonymous,
            httpx.Client(base_url=url) as signed_in,
        ):
            root = anonymous.post(
                "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
            ).json()["access_token"]
            anonymous.put(
                "/api/v1/users/viewer/password",
                json={"password": "viewer-password"},
                headers={"Authorization": f"Bearer {root}"},
            ).raise_for_status()
            signed_in.post("/login", data={"username": "viewer", "password": "viewer-password"})
            floor = statistics.median(timings(anonymous, "/healthz", args.repeat))
            print(f"/healthz (loopback floor): p50 {floor:.1f} ms")
            for who, client in (("anonymous", anonymous), ("signed in", signed_in)):
                for path in PATHS:
                    found = timings(client, path, args.repeat)
                    p50 = statistics.median(found)
                    p95 = statistics.quantiles(found, n=20)[-1]
                    verdict = "ok" if p50 - floor < TARGET_MS else "OVER TARGET"
                    print(
                        f"{who:9} GET {path:38} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
                        f"  server ≈ {p50 - floor:5.1f} ms  {verdict}"
                    )
    print(f"(target: under {TARGET_MS:.0f} ms of server time; {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
