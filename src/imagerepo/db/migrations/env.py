"""Alembic environment: runs on the connection handed in by `imagerepo.db.engine.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from imagerepo.db.tables import Base

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through imagerepo.db.engine.migrate (`imagerepo db upgrade`)"
    )
run_on(connection)
