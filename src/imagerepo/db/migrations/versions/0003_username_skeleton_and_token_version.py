"""username skeleton and token version

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00.000000

Existing users get their skeleton (name lowercased, '.', '_' and '-' removed), oldest first; a
user whose skeleton an older user already has (a look-alike made before the rule) keeps NULL,
which the unique constraint allows: they can still log in, and nobody new can take that name.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SEPARATORS = str.maketrans("", "", "._-")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username_skeleton", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )

    users = sa.table(
        "users",
        sa.column("id", sa.String),
        sa.column("username", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("username_skeleton", sa.String),
    )
    connection = op.get_bind()
    taken: set[str] = set()
    rows = connection.execute(
        sa.select(users.c.id, users.c.username).order_by(users.c.created_at, users.c.id)
    )
    for user_id, username in rows.all():
        skeleton = username.lower().translate(_SEPARATORS)
        if skeleton in taken:
            continue
        taken.add(skeleton)
        connection.execute(
            users.update().where(users.c.id == user_id).values(username_skeleton=skeleton)
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_users_username_skeleton"), ["username_skeleton"]
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_username_skeleton"), type_="unique")
        batch_op.drop_column("token_version")
        batch_op.drop_column("username_skeleton")
