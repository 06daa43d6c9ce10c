"""Listings and search at scale: p50/p95/p99 through the real HTTP API, cache off.

Loads N synthetic rows (default 1 000 000: titles, descriptions and tags from a made-up word
list with a Zipf spread, random EXIF, 20 % private across 100 owners) through the repository in
batches (not over HTTP), starts `imagerepo serve` with `IMAGEREPO_CACHE_SIZE=0`, and times each
request shape as a signed-in owner and as anonymous. Beside them, the same shapes as the SQL the
server ran before issue 8 (`visibility = 'public' OR owner_id = ?`, `LIKE '%word%'`), timed in
the same run directly on the database file (no HTTP, which flatters them).

    .venv/bin/python bench/search.py [--rows 1000000] [--requests 200] [--budget 30]
        [--only NAME] [--against OTHER_SOURCE_TREE]

The loaded database is kept under bench/out/search-<rows>/ and reused by later runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import random
import sqlite3
import statistics
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from ingest import ROOT_PASSWORD
from procs import ServerProcess, clean_env, free_port

from imagerepo.config import Settings
from imagerepo.db.engine import create_engine, session_factory
from imagerepo.db.repos.images import ImageRepository
from imagerepo.models import Image, PhotoMetadata, Visibility
from imagerepo.wiring import build_services

OUT = Path(__file__).parent / "out"
OWNERS = 100
BATCH = 5000
PASSWORD = "owner-password-for-bench"  # noqa: S105 - a throwaway server's
START = datetime(2021, 1, 1, tzinfo=UTC)
CAMERAS = [
    ("Canon", "EOS 5D"), ("Canon", "EOS R6"), ("NIKON", "D750"), ("NIKON", "Z6"),
    ("SONY", "ILCE-7M3"), ("FUJIFILM", "X-T4"), ("Apple", "iPhone 13"), ("Google", "Pixel 7"),
    ("OLYMPUS", "E-M10"), ("Panasonic", "GH5"), ("Leica", "Q2"), ("RICOH", "GR III"),
]  # fmt: skip
LENSES = ["24-70mm f/2.8", "50mm f/1.8", "35mm f/1.4", "70-200mm f/4", None]


def vocabulary(size: int = 5000) -> list[str]:
    """Pronounceable made-up words, deterministic; rank 0 is the most frequent."""
    rng = random.Random(1)
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: dict[str, None] = {}
    while len(words) < size:
        length = rng.choice((2, 3, 3, 4))
        words["".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(length))] = None
    return list(words)


WORDS = vocabulary()
TAGS = WORDS[:300]
FREQUENT, RARE, PAIR = WORDS[8], WORDS[3500], f"{WORDS[30]} {WORDS[90]}"


def synthetic(n: int, owners: list[tuple[str, str]], seed: int) -> Iterator[Image]:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    cumulative = list(__import__("itertools").accumulate(weights))
    for i in range(n):
        owner_id, owner = owners[rng.randrange(len(owners))]
        created = START + timedelta(seconds=i * 90 + rng.random())
        dated = rng.random() < 0.85
        taken = START - timedelta(days=rng.random() * 1500) if dated else None
        make, model = rng.choice(CAMERAS)
        words = rng.choices(WORDS, cum_weights=cumulative, k=11)
        yield Image(
            id=f"b{seed:02d}{i:09d}x{rng.getrandbits(40):010x}"[:22],
            owner_id=owner_id,
            owner=owner,
            title=" ".join(words[:3]),
            filename=f"IMG_{i:07d}.JPG",
            description=" ".join(words[3:]),
            visibility=Visibility.PRIVATE if rng.random() < 0.2 else Visibility.PUBLIC,
            sha256=f"{rng.getrandbits(256):064x}",
            size=rng.randrange(200_000, 12_000_000),
            media_type="image/jpeg",
            width=rng.choice((4000, 6000, 3024)),
            height=rng.choice((3000, 4000, 4032)),
            created_at=created,
            taken_at=taken,
            metadata=PhotoMetadata(
                taken_at=taken,
                camera_make=make,
                camera_model=model,
                lens=rng.choice(LENSES),
                gps_latitude=rng.uniform(-60, 60) if rng.random() < 0.3 else None,
                gps_longitude=rng.uniform(-180, 180) if rng.random() < 0.3 else None,
            ),
            phash=rng.getrandbits(64) - (1 << 63),
            tags=tuple(rng.sample(TAGS, rng.choice((0, 0, 1, 2, 3)))),
        )


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        root_password=ROOT_PASSWORD,  # type: ignore[arg-type]
        argon2_time_cost=2,
        argon2_memory_kib=19456,
    )


async def load(data_dir: Path, rows: int) -> None:
    settings = settings_for(data_dir)
    async with build_services(settings) as services:
        owners = []
        for n in range(OWNERS):
            user = await services.users.create(None, f"owner{n:03d}", PASSWORD)
            owners.append((user.id, user.username))
    engine = create_engine(settings.resolved_database_url)
    repository = ImageRepository(session_factory(engine))
    started = time.perf_counter()
    batch: list[Image] = []
    try:
        for count, image in enumerate(synthetic(rows, owners, seed=7), 1):
            batch.append(image)
            if len(batch) == BATCH:
                await repository.add_many(batch)
                batch.clear()
                if count % 100_000 == 0:
                    rate = count / (time.perf_counter() - started)
                    print(f"  loaded {count:,} rows ({rate:,.0f}/s)", flush=True)
        if batch:
            await repository.add_many(batch)
    finally:
        await engine.dispose()


class Client:
    """One keep-alive HTTP/1.1 connection: the least client overhead per request."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers: dict[str, str] = {}

    def close(self) -> None:
        self._connection.close()

    def call(self, method: str, path: str, body: bytes | None = None, **extra: str) -> bytes:
        headers = {**self.headers, **extra}
        try:
            self._connection.request(method, path, body=body, headers=headers)
            answer = self._connection.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server closes idle keep-alive connections; open a new one, once.
            self._connection.close()
            self._connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=60)
            self._connection.request(method, path, body=body, headers=headers)
            answer = self._connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{method} {path}: {answer.status} {data[:200]!r}")
        return data

    def get_json(self, path: str) -> dict[str, object]:
        result: dict[str, object] = json.loads(self.call("GET", path))
        return result

    def sign_in(self, username: str) -> None:
        form = urllib.parse.urlencode({"username": username, "password": PASSWORD}).encode()
        token = json.loads(
            self.call(
                "POST",
                "/api/v1/auth/token",
                form,
                **{"Content-Type": "application/x-www-form-urlencoded"},
            )
        )["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), cuts[94], cuts[98]


def timed(
    action: Callable[[], object], repeat: int, budget: float = float("inf")
) -> tuple[float, float, float]:
    """p50/p95/p99 of `repeat` calls after one warm-up; fewer (at least 10) when they take
    longer than `budget` seconds in all."""
    action()  # warm
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
        if len(samples) >= 10 and started > deadline:
            break
    return percentiles(samples)


def timed_together(
    actions: list[Callable[[], object]], repeat: int, budget: float = float("inf")
) -> list[tuple[float, float, float]]:
    """`timed` for several actions at once, taking turns request by request, so that each
    meets the same load from the rest of the machine (their ratio is the figure to trust on a
    busy machine)."""
    for action in actions:
        action()  # warm
    samples: list[list[float]] = [[] for _ in actions]
    deadline = time.perf_counter() + budget * len(actions)
    for _ in range(repeat):
        for action, series in zip(actions, samples, strict=True):
            started = time.perf_counter()
            action()
            series.append((time.perf_counter() - started) * 1000)
        if len(samples[0]) >= 10 and time.perf_counter() > deadline:
            break
    return [percentiles(series) for series in samples]


class BenchServer(ServerProcess):
    port: int


def data_of(data_dir: Path, label: str) -> Path:
    """The `--against` server's data: a copy beside this one's when there is one
    (`search-<rows>-against`), so that neither server migrates the other's schema."""
    copy = data_dir.with_name(f"{data_dir.name}-{label}")
    return copy if label != "this" and copy.exists() else data_dir


def start_server(data_dir: Path, source: Path | None) -> BenchServer:
    """`imagerepo serve` on the data, cache off; from the source tree `source` (its `src`
    folder first on PYTHONPATH) when given, else from this one."""
    port = free_port()
    extra = {
        "IMAGEREPO_DATA_DIR": str(data_dir),
        "IMAGEREPO_PORT": str(port),
        "IMAGEREPO_ROOT_PASSWORD": ROOT_PASSWORD,
        "IMAGEREPO_CACHE_SIZE": "0",
        "IMAGEREPO_LOG_LEVEL": "warning",
    }
    src = (source or Path(__file__).parents[1]) / "src"
    extra["PYTHONPATH"] = str(src.resolve())
    server = BenchServer(
        "imagerepo serve", [sys.executable, "-m", "imagerepo", "serve"], clean_env(extra),
        data_dir / f"server-{port}.log", f"http://127.0.0.1:{port}/healthz",
    )  # fmt: skip
    server.port = port
    return server


def shapes(database: Path, sample_id: str) -> dict[str, str]:
    q = urllib.parse.quote
    with sqlite3.connect(database) as db:
        # A deep position: the row 90 % of the way down the upload order.
        created, image_id = db.execute(
            "SELECT created_at, id FROM images ORDER BY upload_key LIMIT 1 OFFSET"
            " (SELECT count(*) / 10 FROM images)"
        ).fetchone()
    moment = datetime.fromisoformat(created).replace(tzinfo=UTC).isoformat()
    import base64

    deep = base64.urlsafe_b64encode(json.dumps([moment, image_id]).encode()).decode().rstrip("=")
    base = "/api/v1/images?limit=50"
    return {
        "baseline: GET /healthz (HTTP floor)": "/healthz",
        "baseline: empty page (q matches nothing)": f"{base}&q=qqqqqq",
        "first page": base,
        "deep cursor page (90 % down)": f"{base}&cursor={deep}",
        "owner filter (owner042)": f"{base}&owner=owner042",
        f"keywords= frequent ({FREQUENT})": f"{base}&keywords={FREQUENT}",
        f"keywords= rare ({RARE})": f"{base}&keywords={RARE}",
        f"keywords= two words ({PAIR})": f"{base}&keywords={q(PAIR)}",
        f"q= frequent ({FREQUENT})": f"{base}&q={FREQUENT}",
        f"q= rare ({RARE})": f"{base}&q={RARE}",
        f"q= two words ({PAIR})": f"{base}&q={q(PAIR)}",
        "camera + taken date range": f"{base}&camera_make=canon&taken_after=2019-06-01T00:00:00Z"
        "&taken_before=2019-07-01T00:00:00Z",
        "camera + date range, sort=taken_at": f"{base}&sort=taken_at&camera_make=canon"
        "&taken_after=2019-06-01T00:00:00Z&taken_before=2019-07-01T00:00:00Z",
        "tag filter": f"{base}&tag={TAGS[5]}",
        "sort=taken_at": f"{base}&sort=taken_at",
        "sort=size": f"{base}&sort=size",
        "q= frequent, sort=taken_at": f"{base}&q={FREQUENT}&sort=taken_at",
        "q= frequent, sort=relevance": f"{base}&q={FREQUENT}&sort=relevance",
        "q= two words, sort=relevance": f"{base}&q={q(PAIR)}&sort=relevance",
        "timeline": "/api/v1/timeline",
        "timeline q= rare": f"/api/v1/timeline?q={RARE}",
        "timeline camera_make": "/api/v1/timeline?camera_make=canon",
        "similar (distance 8)": f"/api/v1/images/{sample_id}/similar?distance=8",
    }


OLD_SQL = {
    "first page": "",
    f"keyword frequent ({FREQUENT})": FREQUENT,
    f"keyword rare ({RARE})": RARE,
    f"keywords two words ({PAIR})": PAIR,
}


def old_shapes(database: Path, owner_id: str, repeat: int) -> dict[str, tuple[float, ...]]:
    """The listing SQL of before issue 8, run on the same file (SQL only, no HTTP)."""
    results: dict[str, tuple[float, ...]] = {}
    with sqlite3.connect(database) as db:
        for name, words in OLD_SQL.items():
            for who, owner in (("owner", owner_id), ("anonymous", None)):
                visible = (
                    "(visibility = 'public' OR owner_id = ?)"
                    if owner
                    else ("visibility = 'public'")
                )
                like = "".join(
                    " AND (lower(title) LIKE ? OR lower(description) LIKE ?)" for _ in words.split()
                )
                params: list[object] = [owner] if owner else []
                for word in words.split():
                    params += [f"%{word}%", f"%{word}%"]
                sql = (
                    "SELECT images.*, users.username FROM images JOIN users ON users.id ="  # noqa: S608
                    f" images.owner_id WHERE {visible}{like} ORDER BY created_at DESC, images.id"
                    " DESC LIMIT 51"
                )
                results[f"{name} [{who}]"] = timed(
                    lambda sql=sql, params=params: db.execute(sql, params).fetchall(),
                    max(repeat // 4, 5),
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--only", help="Only the shapes whose name contains this text.")
    parser.add_argument("--no-old", action="store_true", help="Skip the pre-issue-8 SQL.")
    parser.add_argument(
        "--against",
        type=Path,
        help="Another source tree (a checkout, or `git archive` of a commit): its server runs"
        " beside this one (on a copy of the data named search-<rows>-against if there is one)"
        " and the two take turns request by request.",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=30.0,
        help="Seconds per shape and viewer; a slow shape stops early (at least 10 requests).",
    )
    args = parser.parse_args()
    data_dir = OUT / f"search-{args.rows}"
    done = data_dir / ".complete"
    if not done.exists():
        print(f"loading {args.rows:,} rows into {data_dir} ...", flush=True)
        started = time.perf_counter()
        asyncio.run(load(data_dir, args.rows))
        done.touch()
        print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
    database = data_dir / "imagerepo.db"
    if not database.exists():
        database = next(data_dir.glob("*.db"))
    with sqlite3.connect(database) as db:
        owner_id = db.execute("SELECT id FROM users WHERE username = 'owner001'").fetchone()[0]
        sample_id = db.execute(
            "SELECT id FROM images WHERE visibility = 'public' LIMIT 1 OFFSET 5000"
        ).fetchone()[0]
    sources = {"this": None, **({"against": args.against} if args.against else {})}
    with contextlib.ExitStack() as stack:
        servers = {
            label: stack.enter_context(start_server(data_of(data_dir, label), source).start())
            for label, source in sources.items()
        }
        signers = {}
        for label, server in servers.items():
            signers[label] = Client(server.port)
            signers[label].sign_in("owner001")
        for name, path in shapes(database, sample_id).items():
            if args.only and args.only not in name:
                continue
            for who in ("owner", "anonymous"):
                # A fresh connection per series: no connection sits idle between series.
                calls = []
                for label, server in servers.items():
                    client = stack.enter_context(contextlib.closing(Client(server.port)))
                    client.headers = signers[label].headers if who == "owner" else {}
                    calls.append(lambda c=client, p=path: c.call("GET", p))
                results = timed_together(calls, args.requests, args.budget)
                line = "  ".join(
                    f"{label}: p50 {r[0]:7.2f} p95 {r[1]:7.2f} p99 {r[2]:7.2f}"
                    for label, r in zip(servers, results, strict=True)
                )
                if len(results) == 2:
                    line += f"  p95 ratio {results[0][1] / results[1][1]:.2f}"
                print(f"{name:42} {who:9} {line} ms", flush=True)
        for label, server in servers.items():
            rss, peak = server.rss_mib() or 0, server.peak_rss_mib() or 0
            print(f"{label} server RSS {rss:.0f} MiB (peak {peak:.0f} MiB)", flush=True)
    if args.no_old:
        return
    print("\nbefore issue 8 (the old SQL on the same file, no HTTP):")
    for name, result in old_shapes(database, owner_id, args.requests).items():
        print(f"{name:52} p50 {result[0]:8.2f}  p95 {result[1]:8.2f}  p99 {result[2]:8.2f} ms")


if __name__ == "__main__":
    main()
