"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from imagerepo.db.engine import create_engine, migrate
from imagerepo.db.search.sqlite import is_search_table
from imagerepo.db.tables import Base

#: Indexes on an expression: SQLAlchemy cannot reflect them and Alembic cannot compare them
#: (each warns and skips them), so they are checked by name below.
EXPRESSION_INDEXES = {"ix_images_vis_make_month"}


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
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

        def indexes(connection: Connection) -> set[str]:
            rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
            return {row[0] for row in rows}

        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
            assert {"users", "images", "image_tags", "alembic_version", "images_fts"} <= (
                await connection.run_sync(tables)
            )
            assert await connection.run_sync(indexes) >= EXPRESSION_INDEXES
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
