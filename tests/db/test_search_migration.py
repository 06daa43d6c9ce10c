"""Migration 0005 fills the new columns and the search indexes for images stored before it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, text

from imagerepo.db.engine import alembic_config, create_engine
from imagerepo.db.keys import upload_key
from imagerepo.db.repos.users import as_utc


async def test_rows_from_before_0005_are_searchable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    engine = create_engine(url)

    def upgrade(connection: Connection, revision: str) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade, "0004")
            await connection.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, is_admin, created_at,"
                    " token_version) VALUES ('u1', 'alice', 'x', 0, '2024-01-01 00:00:00', 0)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO images (id, owner_id, title, filename, description, visibility,"
                    " sha256, size, media_type, width, height, created_at, taken_at,"
                    " photo_metadata) VALUES ('i1', 'u1', 'Über Café', 'a.jpg', 'beaches',"
                    " 'public', 'ab', 10, 'image/jpeg', 1, 1, '2024-02-03 04:05:06.000007',"
                    ' NULL, \'{"lens": "50mm", "taken_at_local": "2023-12-31T23:00:00"}\')'
                )
            )
            await connection.run_sync(upgrade, "head")
            row = (
                await connection.execute(
                    text(
                        "SELECT upload_key, sort_taken_at, local_month, lens, search_text, tags,"
                        " created_at FROM images"
                    )
                )
            ).one()
            created = as_utc(datetime.fromisoformat(str(row.created_at)))
            assert row.upload_key == upload_key(created, "i1")
            assert row.local_month == "2023-12" and row.lens == "50mm"
            assert row.search_text == "uber cafe\nbeaches"
            found = await connection.execute(
                text("SELECT rowid FROM images_fts WHERE images_fts MATCH 'beach AND uber'")
            )
            assert found.scalars().all() == [row.upload_key]
            found = await connection.execute(
                text("SELECT rowid FROM images_keywords WHERE images_keywords MATCH '\"afe\"'")
            )
            assert found.scalars().all() == [row.upload_key]
    finally:
        await engine.dispose()
