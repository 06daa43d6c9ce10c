"""A transaction PostgreSQL rolls back after a serialization failure or a deadlock is run again
(`db.retry.retried`), a bounded number of times, instead of reaching the client as a 503.

These always run against the session's PostgreSQL (`postgres_databases`), whatever the profile.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from imagerepo.db import retry
from imagerepo.db.engine import create_engine, session_factory
from imagerepo.db.repos.users import UserRepository
from imagerepo.errors import ServiceUnavailable
from imagerepo.metrics import DATABASE_CONFLICTS
from imagerepo.models import User
from tests.databases import Databases


@pytest.fixture
def database(postgres_databases: Databases) -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL, asyncpg DSN) of a migrated database of this test's own."""
    name = postgres_databases.create()
    try:
        dsn = postgres_databases.url.set(drivername="postgresql", database=name)
        yield postgres_databases.url_of(name), dsn.render_as_string(hide_password=False)
    finally:
        postgres_databases.drop(name)


@pytest.fixture
async def engine(database: tuple[str, str]) -> AsyncIterator[AsyncEngine]:
    made = create_engine(database[0])
    try:
        yield made
    finally:
        await made.dispose()


def conflicts(result: str) -> float:
    return DATABASE_CONFLICTS.labels(result)._value.get()


async def until_waiting_on_a_lock(monitor: asyncpg.Connection, database: str) -> None:
    """Until some session of `database` waits for a row lock (what the test arranged)."""
    deadline = time.monotonic() + 10
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'"
    while await monitor.fetchval(query, database) == 0:
        assert time.monotonic() < deadline, "the repository's transaction never waited"
        await asyncio.sleep(0.01)  # polling PostgreSQL for a state, not waiting for time


async def test_a_serialization_failure_is_retried_on_fresh_data(
    database: tuple[str, str], engine: AsyncEngine
) -> None:
    """A real conflict: at REPEATABLE READ (an operator's choice), the repository's UPDATE waits
    for another transaction's row lock; that one commits, so PostgreSQL fails ours with 40001.
    Run again, it sees the other's change and adds to it."""
    dsn = database[1]
    name = engine.url.database
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(
            f"ALTER DATABASE {name} SET default_transaction_isolation = 'repeatable read'"
        )
    finally:
        await admin.close()
    users = UserRepository(session_factory(engine))
    user = User(uuid.uuid4().hex, "ann", is_admin=False, created_at=datetime.now(UTC))
    await users.add(user, "hash", skeleton="ann")
    before = conflicts("retried")

    other, monitor = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        holding = other.transaction(isolation="read_committed")
        await holding.start()
        await other.execute(
            "UPDATE users SET token_version = token_version + 10 WHERE id = $1", user.id
        )
        revoking = asyncio.create_task(users.revoke_tokens(user.id))
        await until_waiting_on_a_lock(monitor, str(name))
        await holding.commit()  # the waiting UPDATE now fails: 40001
        await asyncio.wait_for(revoking, timeout=10)
    finally:
        await other.close()
        await monitor.close()

    assert conflicts("retried") == before + 1
    async with engine.connect() as connection:
        version = await connection.scalar(
            text("SELECT token_version FROM users WHERE id = :id"), {"id": user.id}
        )
    assert version == 11  # the other's +10, then ours on top: the retry read fresh data


def counted(engine: AsyncEngine, statement: str) -> tuple[Callable[[], Awaitable[None]], list[int]]:
    """A `retried` transaction that runs `statement`, and the list its calls are counted in."""
    calls: list[int] = []

    @retry.retried
    async def run() -> None:
        calls.append(1)
        async with engine.connect() as connection:
            await connection.execute(text(statement))

    return run, calls


async def test_the_retries_are_bounded_and_the_last_conflict_is_a_503(engine: AsyncEngine) -> None:
    always_deadlocks, calls = counted(
        engine, "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$"
    )
    gave_up = conflicts("gave_up")
    with pytest.raises(ServiceUnavailable, match="after a deadlock: try again"):
        await always_deadlocks()
    assert len(calls) == retry.ATTEMPTS
    assert conflicts("gave_up") == gave_up + 1


async def test_other_errors_are_not_retried(engine: AsyncEngine) -> None:
    fails, calls = counted(engine, "SELECT 1/0")
    with pytest.raises(Exception, match="division by zero"):
        await fails()
    assert len(calls) == 1
