"""Engine creation and the schema: Alembic migrations, run programmatically.

An embedded SQLite library migrates when the server starts (one process owns it). On PostgreSQL
several servers share the database, so only `imagerepo migrate` migrates (under an advisory
lock, so two at once take turns); a server that meets another revision than its own refuses to
start with one line saying what to run (`prepare_schema`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from imagerepo.db import postgres
from imagerepo.db.health import revision
from imagerepo.errors import ServiceUnavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _tune_sqlite(dbapi_connection: object, _record: ConnectionPoolEntry) -> None:
    """WAL lets readers run beside the one writer; foreign keys are off by default in SQLite."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        # Each aiosqlite connection is a thread plus PRAGMAs on connect: keep enough open for
        # the requests in flight instead of opening and closing overflow connections.
        return _sqlite(create_async_engine(url, pool_size=16, max_overflow=16))
    if make_url(url).get_backend_name() == "postgresql":
        # asyncpg prepares every statement; after five runs PostgreSQL may switch to a generic
        # plan that cannot see the values, and for `LIKE '%rare%'` it then walks the upload
        # order's index past every row (77 ms at 100 000 rows instead of 1 ms by trigrams).
        settings = {"plan_cache_mode": "force_custom_plan"}
        asyncpg = make_url(url).get_driver_name() == "asyncpg"
        engine = create_async_engine(
            url, pool_pre_ping=True, connect_args={"server_settings": settings} if asyncpg else {}
        )
        postgres.install(engine.sync_engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _sqlite(engine: AsyncEngine) -> AsyncEngine:
    sync_engine: Engine = engine.sync_engine
    event.listen(sync_engine, "connect", _tune_sqlite)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is a ConfigParser: a `%` (a URL-escaped comma or space in a data folder's
    # path, or in a password) is interpolation syntax there unless doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision on the engine's own database."""

    def upgrade(sync_connection: object) -> None:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = sync_connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two `imagerepo migrate` at once: the second waits, then finds nothing to do.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATE})
        await connection.run_sync(upgrade)


#: The advisory lock key `migrate` holds on PostgreSQL ("imagerepo" in ASCII, as a number).
_MIGRATE = 0x696D616765726570


def head_revision() -> str:
    """The revision this code's migrations end at."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


async def prepare_schema(engine: AsyncEngine) -> None:
    """At a server's start: migrate an embedded SQLite library; on a shared database only
    check that the schema is the one this code needs (`ServiceUnavailable` otherwise)."""
    if engine.dialect.name == "sqlite":
        await migrate(engine)
        return
    current, head = await revision(engine), head_revision()
    if current == head:
        return
    known = {
        script.revision
        for script in ScriptDirectory.from_config(alembic_config("")).walk_revisions()
    }
    if current is not None and current not in known:
        raise ServiceUnavailable(
            f"the database schema is at {current}, newer than this server knows (it needs"
            f" {head}): upgrade the server"
        )
    raise ServiceUnavailable(
        f"the database schema is at {current or 'nothing (an empty database)'}, this server"
        f" needs {head}: run 'imagerepo migrate'"
    )


def check_schema_blocking(url: str) -> None:
    """`prepare_schema`'s check, for the command line before the server starts (SQLite: no-op,
    the server migrates it)."""

    async def run() -> None:
        engine = create_engine(url)
        try:
            if engine.dialect.name != "sqlite":
                await prepare_schema(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def migrate_blocking(url: str) -> None:
    """Same as `migrate`, for command-line use outside an event loop."""

    async def run() -> None:
        engine = create_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
