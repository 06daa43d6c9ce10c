"""Database reachability and schema revision, for `/readyz` and `imagerepo check-config`."""

from __future__ import annotations

from sqlalchemy import Connection, inspect, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from imagerepo.errors import ServiceUnavailable


async def ping(engine: AsyncEngine) -> None:
    """`SELECT 1` on a pooled connection; `ServiceUnavailable` (cause chained) if it fails."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable(f"database unreachable: {exc}") from exc


def describe(url: str) -> str:
    """The database URL with any password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)


async def revision(engine: AsyncEngine) -> str | None:
    """The schema revision the database is at (None: never migrated)."""

    def read(sync_connection: Connection) -> str | None:
        # Not alembic's MigrationContext: it logs two INFO lines, and a server refusing to
        # start on an old schema should print one.
        if not inspect(sync_connection).has_table("alembic_version"):
            return None
        found = sync_connection.execute(text("SELECT version_num FROM alembic_version"))
        return found.scalar()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
