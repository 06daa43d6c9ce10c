"""listing keys, tags and full-text search

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:10:00.000000

Columns that let every listing walk an index instead of sorting all visible rows
(`upload_key`, `sort_taken_at`, `local_month`; see `imagerepo.db.keys`), `lens`, a folded copy of
title and description for `keywords=`, tags (as written on the row, folded in `image_tags` for
filters), and on SQLite two FTS5 tables kept in step by triggers in the same transaction:
`images_fts` (porter stemming, Unicode case and accent folding) and `images_keywords` (trigram
index over the folded copy: substring matches without a scan). Both use `upload_key` as rowid.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from imagerepo.db.keys import local_month, upload_key, utc
from imagerepo.folding import fold

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# One row's search entries: full text, and the folded copy for the trigram index.
_INDEX_NEW = """
  INSERT INTO images_fts (rowid, title, filename, description, tags, camera, lens)
  VALUES (new.upload_key, new.title, new.filename, new.description,
          (SELECT group_concat(value, ' ; ') FROM json_each(new.tags)),
          trim(coalesce(new.camera_make, '') || ' ' || coalesce(new.camera_model, '')),
          coalesce(new.lens, ''));
  INSERT INTO images_keywords (rowid, text) VALUES (new.upload_key, new.search_text);
"""

SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE images_fts USING fts5(title, filename, description, tags, camera,"
    " lens, tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE images_keywords USING fts5(text, tokenize = 'trigram')",
    f"CREATE TRIGGER images_search_insert AFTER INSERT ON images BEGIN {_INDEX_NEW} END",
    """CREATE TRIGGER images_search_delete AFTER DELETE ON images BEGIN
  DELETE FROM images_fts WHERE rowid = old.upload_key;
  DELETE FROM images_keywords WHERE rowid = old.upload_key;
END""",
    # Constants only: nothing here comes from outside.
    f"""CREATE TRIGGER images_search_update AFTER UPDATE OF title, filename, description, tags,
  camera_make, camera_model, lens, search_text, upload_key ON images BEGIN
  DELETE FROM images_fts WHERE rowid = old.upload_key;
  DELETE FROM images_keywords WHERE rowid = old.upload_key; {_INDEX_NEW}
END""",  # noqa: S608
    "INSERT INTO images_fts (rowid, title, filename, description, tags, camera, lens)"
    " SELECT upload_key, title, filename, description,"
    " (SELECT group_concat(value, ' ; ') FROM json_each(images.tags)),"
    " trim(coalesce(camera_make, '') || ' ' || coalesce(camera_model, '')), coalesce(lens, '')"
    " FROM images",
    "INSERT INTO images_keywords (rowid, text) SELECT upload_key, search_text FROM images",
]

# The same on PostgreSQL (db/search/postgres.py): a weighted tsvector kept by a trigger, through
# unaccent and `imagerepo_english` (english with its stemmer but no stop words, so "or" and
# "the" can be searched for, as on SQLite), with a GIN index; trigrams on the folded copy. Both
# extensions are in Debian's postgresql-contrib and trusted (a database owner may create them).
POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TEXT SEARCH DICTIONARY imagerepo_stem (TEMPLATE = snowball, Language = english)",
    "CREATE TEXT SEARCH CONFIGURATION imagerepo_english (COPY = english)",
    "ALTER TEXT SEARCH CONFIGURATION imagerepo_english"
    " ALTER MAPPING REPLACE english_stem WITH imagerepo_stem",
    "ALTER TABLE images ADD COLUMN search_document tsvector",
    """CREATE FUNCTION images_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_document :=
    setweight(to_tsvector('imagerepo_english', unaccent(NEW.title)), 'A')
    || setweight(to_tsvector('imagerepo_english', unaccent(coalesce(
         (SELECT string_agg(t, ' ; ') FROM json_array_elements_text(NEW.tags) AS t), ''))), 'A')
    || setweight(to_tsvector('imagerepo_english', unaccent(
         regexp_replace(NEW.filename, '[^[:alnum:]]+', ' ', 'g'))), 'B')
    || setweight(to_tsvector('imagerepo_english', unaccent(NEW.description)), 'C')
    || setweight(to_tsvector('imagerepo_english', unaccent(
         concat_ws(' ', NEW.camera_make, NEW.camera_model, NEW.lens))), 'D');
  RETURN NEW;
END $$""",
    "CREATE TRIGGER images_search_document BEFORE INSERT OR UPDATE OF title, filename,"
    " description, tags, camera_make, camera_model, lens ON images"
    " FOR EACH ROW EXECUTE FUNCTION images_search_document()",
    "UPDATE images SET title = title",  # fills search_document for rows already there
    "CREATE INDEX ix_images_search_document ON images USING gin (search_document)",
    "CREATE INDEX ix_images_search_text_trgm ON images USING gin (search_text gin_trgm_ops)",
]


def _backfill() -> None:
    images = sa.table(
        "images",
        sa.column("id", sa.String),
        sa.column("title", sa.String),
        sa.column("description", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("taken_at", sa.DateTime(timezone=True)),
        sa.column("photo_metadata", sa.JSON),
        sa.column("upload_key", sa.BigInteger),
        sa.column("sort_taken_at", sa.DateTime(timezone=True)),
        sa.column("local_month", sa.String),
        sa.column("lens", sa.String),
        sa.column("search_text", sa.Text),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            images.c.id,
            images.c.title,
            images.c.description,
            images.c.created_at,
            images.c.taken_at,
            images.c.photo_metadata,
        )
    ).all()
    for row in rows:
        created: datetime = utc(row.created_at)
        taken = utc(row.taken_at) if row.taken_at else created
        meta: dict[str, Any] = row.photo_metadata or {}
        if isinstance(meta, str):
            meta = json.loads(meta)
        connection.execute(
            images.update()
            .where(images.c.id == row.id)
            .values(
                upload_key=upload_key(created, row.id),
                sort_taken_at=taken.astimezone(UTC),
                local_month=local_month(meta.get("taken_at_local"), taken),
                lens=meta.get("lens"),
                search_text=fold(f"{row.title}\n{row.description}"),
            )
        )


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upload_key", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("sort_taken_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("local_month", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("lens", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("search_text", sa.Text(), nullable=False, server_default=sa.text("''"))
        )
        batch_op.add_column(
            sa.Column("tags", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    _backfill()
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.alter_column("upload_key", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column(
            "sort_taken_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.alter_column("local_month", existing_type=sa.String(length=7), nullable=False)
        batch_op.drop_index("ix_images_visibility_created")
        batch_op.drop_index("ix_images_owner_created")
        batch_op.create_unique_constraint("uq_images_upload_key", ["upload_key"])
        batch_op.create_index("ix_images_vis_upload", ["visibility", "upload_key"])
        batch_op.create_index(
            "ix_images_owner_vis_upload", ["owner_id", "visibility", "upload_key"]
        )
        batch_op.create_index("ix_images_vis_taken", ["visibility", "sort_taken_at", "upload_key"])
        batch_op.create_index(
            "ix_images_owner_vis_taken", ["owner_id", "visibility", "sort_taken_at", "upload_key"]
        )
        batch_op.create_index("ix_images_vis_size", ["visibility", "size", "upload_key"])
        batch_op.create_index(
            "ix_images_owner_vis_size", ["owner_id", "visibility", "size", "upload_key"]
        )
        batch_op.create_index("ix_images_vis_month", ["visibility", "local_month"])
        batch_op.create_index(
            "ix_images_owner_vis_month", ["owner_id", "visibility", "local_month"]
        )
    op.create_table(
        "image_tags",
        sa.Column("image_id", sa.String(length=32), nullable=False),
        sa.Column("tag_key", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_image_tags_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("image_id", "tag_key", name=op.f("pk_image_tags")),
    )
    op.create_index("ix_image_tags_tag_key_image_id", "image_tags", ["tag_key", "image_id"])
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_SEARCH, "postgresql": POSTGRES_SEARCH}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("images_search_insert", "images_search_delete", "images_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS images_fts")
        op.execute("DROP TABLE IF EXISTS images_keywords")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS images_search_document ON images")
        op.execute("DROP FUNCTION IF EXISTS images_search_document()")
        op.execute("DROP INDEX IF EXISTS ix_images_search_text_trgm")
        op.execute("DROP INDEX IF EXISTS ix_images_search_document")
        op.execute("ALTER TABLE images DROP COLUMN IF EXISTS search_document")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS imagerepo_english")
        op.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS imagerepo_stem")
    op.drop_index("ix_image_tags_tag_key_image_id", table_name="image_tags")
    op.drop_table("image_tags")
    with op.batch_alter_table("images", schema=None) as batch_op:
        for name in (
            "ix_images_owner_vis_month",
            "ix_images_vis_month",
            "ix_images_owner_vis_size",
            "ix_images_vis_size",
            "ix_images_owner_vis_taken",
            "ix_images_vis_taken",
            "ix_images_owner_vis_upload",
            "ix_images_vis_upload",
        ):
            batch_op.drop_index(name)
        batch_op.drop_constraint("uq_images_upload_key", type_="unique")
        batch_op.create_index("ix_images_owner_created", ["owner_id", "created_at", "id"])
        batch_op.create_index("ix_images_visibility_created", ["visibility", "created_at", "id"])
        for column in ("tags", "search_text", "lens", "local_month", "sort_taken_at", "upload_key"):
            batch_op.drop_column(column)
