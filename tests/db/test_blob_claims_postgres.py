"""The claim/removal handshake of `db/repos/blobs.py` on PostgreSQL (READ COMMITTED), where a
statement's snapshot is taken when it starts: a removal that had to wait for a claim's row lock
must still see that claim. Always runs against the session's PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from imagerepo.db.engine import create_engine, session_factory
from imagerepo.db.repos.blobs import BlobRepository
from tests.databases import Databases

SHA = hashlib.sha256(b"contended bytes").hexdigest()


@pytest.fixture
async def engine(postgres_databases: Databases) -> AsyncIterator[AsyncEngine]:
    name = postgres_databases.create()
    engine = create_engine(postgres_databases.url_of(name))
    try:
        yield engine
    finally:
        await engine.dispose()
        postgres_databases.drop(name)


async def until_someone_waits_for_a_lock(engine: AsyncEngine) -> None:
    async with engine.connect() as watcher:
        for _ in range(1000):
            waiting = await watcher.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
            if waiting:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("nobody waited for the row lock")


async def test_a_removal_that_waited_for_a_claim_sees_it(engine: AsyncEngine) -> None:
    repo = BlobRepository(session_factory(engine))
    now = datetime.now(UTC)
    assert await repo.claim("first", SHA, 15, now, now + timedelta(hours=1))
    await repo.release("first")  # a live row that nothing names: removable
    async with engine.connect() as uploader:
        claim = await uploader.begin()  # an upload's claim, not yet committed
        await uploader.execute(
            text("UPDATE blobs SET last_claimed_at = :now WHERE sha256 = :sha AND state = 'live'"),
            {"now": now, "sha": SHA},
        )
        await uploader.execute(
            text("INSERT INTO blob_claims (id, sha256, expires_at) VALUES ('second', :sha, :e)"),
            {"sha": SHA, "e": now + timedelta(hours=1)},
        )
        removal = asyncio.create_task(repo.mark_deleting(SHA, now))
        await until_someone_waits_for_a_lock(engine)
        await claim.commit()
    assert await removal is False
    assert await repo.state(SHA) == "live"
    await repo.release("second")
    assert await repo.mark_deleting(SHA, now) is True
