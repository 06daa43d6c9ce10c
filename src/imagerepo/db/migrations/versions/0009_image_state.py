"""image processing state

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:00:00.000000

`images.state` says where an image's derivative work stands (`ready`, `processing`, `failed`;
see `imagerepo.services.processing`); rows that exist already are `ready` (their derivatives
are made on request, as before). `state_changed_at` is when the state last moved (or a job was
last handed out for it): the recovery sweep re-enqueues `processing` images older than a lease.
`state_reason` is a short note on why a job failed. The partial index holds only the few rows
that are not ready, so the sweep and the queue-depth gauge read a handful of entries.

Columns are added in place (no batch rebuild: migrations 0005 and 0006 hang triggers on
`images`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "images",
        sa.Column("state", sa.String(length=16), nullable=False, server_default="ready"),
    )
    op.add_column(
        "images", sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("images", sa.Column("state_reason", sa.String(length=255), nullable=True))
    op.create_index(
        "ix_images_unready",
        "images",
        ["state", "state_changed_at"],
        sqlite_where=sa.text("state <> 'ready'"),
        postgresql_where=sa.text("state <> 'ready'"),
    )


def downgrade() -> None:
    op.drop_index("ix_images_unready", table_name="images")
    op.drop_column("images", "state_reason")
    op.drop_column("images", "state_changed_at")
    op.drop_column("images", "state")
