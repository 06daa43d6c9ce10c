"""Database reachability and schema revision, for `/readyz` and `imagerepo check-config`."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, make_url, text
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
        return MigrationContext.configure(sync_connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
