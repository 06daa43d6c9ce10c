"""blob references, upload claims and direct uploads

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:00:00.000000

Which original blobs are referenced is decided here, not by in-process locks
(`services/blob_refs.py` has the protocol):

- `blobs`: one row per stored original (`state` 'live', or 'deleting' while a collector removes
  its bytes); `last_claimed_at` is when an upload last announced it, for the collector's grace;
  `marked_at` when it was marked 'deleting' (a crashed collector's mark is finished later).
- `blob_claims`: an upload in flight, written before its bytes; until it expires, no collector
  deletes those bytes.
- `direct_uploads`: an offered presigned PUT to `incoming/<id>` and what the client promised.

`blobs` is filled from the images already stored (no rebuild of `images`: it has triggers).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('live', 'deleting')", name=op.f("ck_blobs_state")),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )
    op.create_index(op.f("ix_blobs_state_last_claimed_at"), "blobs", ["state", "last_claimed_at"])
    op.create_table(
        "blob_claims",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blob_claims")),
    )
    op.create_index(op.f("ix_blob_claims_sha256"), "blob_claims", ["sha256"])
    op.create_index(op.f("ix_blob_claims_expires_at"), "blob_claims", ["expires_at"])
    op.create_table(
        "direct_uploads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("image_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_direct_uploads_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_uploads")),
    )
    op.create_index(op.f("ix_direct_uploads_expires_at"), "direct_uploads", ["expires_at"])
    op.execute(
        "INSERT INTO blobs (sha256, size, state, created_at, last_claimed_at)"
        " SELECT sha256, max(size), 'live', min(created_at), max(created_at) FROM images"
        " GROUP BY sha256"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_direct_uploads_expires_at"), table_name="direct_uploads")
    op.drop_table("direct_uploads")
    op.drop_index(op.f("ix_blob_claims_expires_at"), table_name="blob_claims")
    op.drop_index(op.f("ix_blob_claims_sha256"), table_name="blob_claims")
    op.drop_table("blob_claims")
    op.drop_index(op.f("ix_blobs_state_last_claimed_at"), table_name="blobs")
    op.drop_table("blobs")
