"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from imagerepo.db.engine import create_engine, migrate
from imagerepo.db.search.sqlite import is_search_table
from imagerepo.db.tables import Base


async def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
        await migrate(engine)
        await migrate(engine)  # idempotent: a second start changes nothing

        def modelled(name: str | None, kind: str, _parents: object) -> bool:
            # The FTS5 tables live outside the models' metadata (SQLite only).
            return not (kind == "table" and name is not None and is_search_table(name))

        def diff(connection: Connection) -> list[object]:
            context = MigrationContext.configure(connection, opts={"include_name": modelled})
            return list(compare_metadata(context, Base.metadata))

        def tables(connection: Connection) -> set[str]:
            return set(inspect(connection).get_table_names())

        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
            assert {"users", "images", "image_tags", "alembic_version", "images_fts"} <= (
                await connection.run_sync(tables)
            )
    finally:
        await engine.dispose()


async def test_a_folder_whose_url_needs_escaping_migrates(tmp_path: Path) -> None:
    """`a,b c` becomes `a%2Cb%20c` in the URL, and `%` is syntax to Alembic's config parser."""
    folder = tmp_path / "photos, 100% mine"
    folder.mkdir()
    engine = create_engine(f"sqlite+aiosqlite:///{folder / 'm.db'}")
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
