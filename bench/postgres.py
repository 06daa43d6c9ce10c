"""The same listing and search shapes on SQLite and on PostgreSQL, in-process (no HTTP).

Loads N synthetic rows (bench/search.py's generator: Zipf-spread made-up words, 20 % private,
100 owners) into a fresh SQLite file and a fresh PostgreSQL database, then times each shape
through the search engine each database gets in `wiring` (`SqliteSearch`, `PostgresSearch`):
p50 / p95 in milliseconds over --requests calls, warm.

    .venv/bin/python bench/postgres.py --postgres-url URL [--rows 100000] [--requests 50]
        [--keep FOLDER]

with URL like postgresql+asyncpg://postgres@127.0.0.1:5432/bench.

The PostgreSQL database is dropped and created again (the URL's user must be allowed to).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

import asyncpg
from search import BATCH, FREQUENT, OWNERS, PAIR, RARE, synthetic
from sqlalchemy import make_url

from imagerepo.db.engine import create_engine, migrate, session_factory
from imagerepo.db.readers import reader_for
from imagerepo.db.repos.images import ImageRepository
from imagerepo.db.search.postgres import PostgresSearch
from imagerepo.db.search.sqlite import SqliteSearch
from imagerepo.models import ImageQuery, Page, Scope, Sort
from imagerepo.services.search import parse_query


async def fresh_postgres(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await connection.close()


async def load(url: str, rows: int) -> float:
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with engine.begin() as connection:
            for n in range(OWNERS):
                await connection.exec_driver_sql(
                    "INSERT INTO users (id, username, password_hash, is_admin, created_at,"
                    " token_version) VALUES ($1, $2, 'x', false, now(), 0)"
                    if engine.dialect.name == "postgresql"
                    else "INSERT INTO users (id, username, password_hash, is_admin, created_at,"
                    " token_version) VALUES (?, ?, 'x', 0, datetime('now'), 0)",
                    (f"owner{n:03d}", f"owner{n:03d}"),
                )
        owners = [(f"owner{n:03d}", f"owner{n:03d}") for n in range(OWNERS)]
        repository = ImageRepository(session_factory(engine))
        started = time.perf_counter()
        batch = []
        for image in synthetic(rows, owners, seed=7):
            batch.append(image)
            if len(batch) == BATCH:
                await repository.add_many(batch)
                batch.clear()
        if batch:
            await repository.add_many(batch)
        if engine.dialect.name == "postgresql":
            # What autovacuum does in time: statistics, and the GIN pending lists merged into
            # the indexes (before that, a rare term's lookup scans the list: 8 ms, not 0.1).
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("VACUUM ANALYZE images")
        return time.perf_counter() - started
    finally:
        await engine.dispose()


def shapes() -> dict[str, ImageQuery]:
    anonymous, owner = Scope(public=True), Scope(public=True, owner_ids=frozenset({"owner007"}))
    return {
        "first page, anonymous": ImageQuery(scope=anonymous),
        "first page, owner": ImageQuery(scope=owner),
        "first page by taken_at": ImageQuery(scope=owner, sort=Sort.TAKEN_AT),
        f"keywords={FREQUENT} (frequent)": ImageQuery(scope=owner, keywords=(FREQUENT,)),
        f"keywords={RARE} (rare)": ImageQuery(scope=owner, keywords=(RARE,)),
        f"q={FREQUENT} (frequent)": ImageQuery(scope=owner, text=parse_query(FREQUENT)),
        f"q={RARE} (rare)": ImageQuery(scope=owner, text=parse_query(RARE)),
        f"q={PAIR} (AND)": ImageQuery(scope=owner, text=parse_query(PAIR)),
        f"q={FREQUENT} by relevance": ImageQuery(
            scope=owner, text=parse_query(FREQUENT), sort=Sort.RELEVANCE
        ),
    }


async def time_shapes(
    urls: dict[str, str], requests: int
) -> dict[str, dict[str, tuple[float, float]]]:
    """p50/p95 per database and shape; the databases take turns request by request, so both
    meet the same load from the rest of the machine."""
    engines = {label: create_engine(url) for label, url in urls.items()}
    readers = {
        label: reader_for(urls[label], session_factory(engine)) for label, engine in engines.items()
    }
    searches = {
        label: PostgresSearch(reader)
        if engines[label].dialect.name == "postgresql"
        else SqliteSearch(reader)
        for label, reader in readers.items()
    }
    found: dict[str, dict[str, tuple[float, float]]] = {label: {} for label in urls}
    try:
        for name, query in shapes().items():
            samples: dict[str, list[float]] = {label: [] for label in urls}
            for _ in range(requests + 3):
                for label, search in searches.items():
                    started = time.perf_counter()
                    page: Page = await search.page(query)
                    samples[label].append((time.perf_counter() - started) * 1000)
                    assert page.items or "rare" in name, name
            for label, series in samples.items():
                cuts = statistics.quantiles(series[3:], n=20, method="inclusive")
                found[label][name] = (statistics.median(series[3:]), cuts[18])
    finally:
        for reader in readers.values():
            reader.close()
        for engine in engines.values():
            await engine.dispose()
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--postgres-url", required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--keep",
        help="Keep the SQLite file in this folder and the PostgreSQL database as they are;"
        " a later run with the same folder and --rows only times them.",
    )
    args = parser.parse_args()
    keep = args.keep
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(keep) if keep else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        sqlite_url = f"sqlite+aiosqlite:///{folder}/bench.db"
        loaded = folder / f".loaded-{args.rows}"
        if not loaded.exists():
            await fresh_postgres(args.postgres_url)
        urls = {"SQLite": sqlite_url, "PostgreSQL": args.postgres_url}
        for label, url in urls.items():
            if not loaded.exists():
                seconds = await load(url, args.rows)
                print(f"{label}: loaded {args.rows:,} rows in {seconds:.1f} s", flush=True)
        loaded.touch()
        results = await time_shapes(urls, args.requests)
    print(f"\n{'shape':36} {'SQLite p50/p95 ms':>20} {'PostgreSQL p50/p95 ms':>24}")
    for name in results["SQLite"]:
        (a50, a95), (b50, b95) = results["SQLite"][name], results["PostgreSQL"][name]
        print(f"{name:36} {a50:9.2f} / {a95:7.2f} {b50:12.2f} / {b95:8.2f}   p95 {b95 / a95:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
