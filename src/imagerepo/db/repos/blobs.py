"""All SQL about original blobs: reference rows, upload claims (migration 0007_blobs).

The protocol these statements serve is in `services/blob_refs.py`. What makes it safe with many
processes is the row of `blobs`: a claim upserts it (taking its row lock) in the same transaction
as it inserts the claim, and a removal first takes the same row lock, then checks images and
claims in a second statement. On PostgreSQL (READ COMMITTED) that second statement gets a fresh
snapshot after the lock is granted, so it sees any claim committed while it waited; on SQLite the
first write takes the database's write lock, which serialises the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, not_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from imagerepo.db.retry import retried
from imagerepo.db.tables import BlobClaimRow, BlobRow, ImageRow

_IN_BATCH = 500


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both spell it the same way)."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _referenced(sha256: Any, now: datetime) -> ColumnElement[bool]:
    """An image row or a live claim names these bytes."""
    return exists().where(ImageRow.sha256 == sha256) | exists().where(
        BlobClaimRow.sha256 == sha256, BlobClaimRow.expires_at > now
    )


class BlobRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @retried
    async def claim(
        self, claim_id: str, sha256: str, size: int, now: datetime, expires_at: datetime
    ) -> bool:
        """In one transaction: make the `blobs` row live-and-claimed-now (insert it, or touch
        it if it is 'live') and insert the claim. False, with nothing written, if the row is
        'deleting' (a collector is removing those bytes: wait until the row is gone)."""
        async with self._sessions() as session:
            insert = _insert(session)
            upsert = (
                insert(BlobRow)
                .values(sha256=sha256, size=size, state="live", created_at=now, last_claimed_at=now)
                .on_conflict_do_update(
                    index_elements=[BlobRow.sha256],
                    set_={"last_claimed_at": now},
                    where=BlobRow.state == "live",
                )
                .returning(BlobRow.sha256)
            )
            if (await session.execute(upsert)).first() is None:
                await session.rollback()
                return False
            session.add(BlobClaimRow(id=claim_id, sha256=sha256, expires_at=expires_at))
            await session.commit()
            return True

    @retried
    async def release(self, claim_id: str) -> None:
        async with self._sessions() as session:
            await session.execute(delete(BlobClaimRow).where(BlobClaimRow.id == claim_id))
            await session.commit()

    @retried
    async def mark_deleting(
        self, sha256: str, now: datetime, *, claimed_before: datetime | None = None
    ) -> bool:
        """Mark the row 'deleting' if it is live, no image row names it, no live claim does
        (and, for the periodic collector, it was last claimed before `claimed_before`). True if
        this call marked it: the caller then removes the bytes and calls `forget`."""
        conditions = [
            BlobRow.sha256 == sha256,
            BlobRow.state == "live",
            not_(_referenced(BlobRow.sha256, now)),
        ]
        if claimed_before is not None:
            conditions.append(BlobRow.last_claimed_at < claimed_before)
        async with self._sessions() as session:
            # First take the row lock (a no-op write), then check in a fresh statement.
            lock = update(BlobRow).where(BlobRow.sha256 == sha256).values(state=BlobRow.state)
            await session.execute(lock)
            marked = await session.execute(
                update(BlobRow).where(*conditions).values(state="deleting", marked_at=now)
            )
            await session.commit()
            return int(marked.rowcount) == 1  # type: ignore[attr-defined]

    @retried
    async def take_over(self, sha256: str, now: datetime, marked_before: datetime) -> bool:
        """Re-mark a 'deleting' row that a crashed collector left (marked before
        `marked_before`); True if this call took it over and must finish the removal."""
        async with self._sessions() as session:
            done = await session.execute(
                update(BlobRow)
                .where(
                    BlobRow.sha256 == sha256,
                    BlobRow.state == "deleting",
                    BlobRow.marked_at < marked_before,
                )
                .values(marked_at=now)
            )
            await session.commit()
            return int(done.rowcount) == 1  # type: ignore[attr-defined]

    @retried
    async def forget(self, sha256: str, marked_at: datetime) -> None:
        """Drop a 'deleting' row once its bytes are gone, if it still carries our mark (a
        collector that took it over drops it itself): waiting uploads may claim again."""
        async with self._sessions() as session:
            await session.execute(
                delete(BlobRow).where(
                    BlobRow.sha256 == sha256,
                    BlobRow.state == "deleting",
                    BlobRow.marked_at == marked_at,
                )
            )
            await session.commit()

    async def unreferenced(self, now: datetime, claimed_before: datetime, limit: int) -> list[str]:
        """Candidates for the collector: live rows past the grace that nothing names."""
        query = (
            select(BlobRow.sha256)
            .where(
                BlobRow.state == "live",
                BlobRow.last_claimed_at < claimed_before,
                not_(_referenced(BlobRow.sha256, now)),
            )
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def stale_marks(self, marked_before: datetime, limit: int) -> list[str]:
        query = (
            select(BlobRow.sha256)
            .where(BlobRow.state == "deleting", BlobRow.marked_at < marked_before)
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def known(self, digests: Sequence[str]) -> set[str]:
        """Which of `digests` have a row (live or deleting)."""
        found: set[str] = set()
        async with self._sessions() as session:
            for start in range(0, len(digests), _IN_BATCH):
                batch = digests[start : start + _IN_BATCH]
                query = select(BlobRow.sha256).where(BlobRow.sha256.in_(batch))
                found.update(await session.scalars(query))
        return found

    @retried
    async def adopt(self, sha256: str, size: int, now: datetime) -> bool:
        """A stored object with no row: give it one. 'live' if an image names it (a repair);
        else 'deleting', marked now, and True: the caller removes it and calls `forget`. A
        concurrent claim that inserted a row first wins (nothing is written)."""
        async with self._sessions() as session:
            # The write comes first: it takes the row (PostgreSQL) or the database (SQLite)
            # lock before anything is read, so a claim of these bytes waits for the answer.
            added = await session.execute(
                _insert(session)(BlobRow)
                .values(
                    sha256=sha256,
                    size=size,
                    state="deleting",
                    created_at=now,
                    last_claimed_at=now,
                    marked_at=now,
                )
                .on_conflict_do_nothing(index_elements=[BlobRow.sha256])
                .returning(BlobRow.sha256)
            )
            if added.first() is None:
                await session.rollback()
                return False
            if await session.scalar(select(exists().where(ImageRow.sha256 == sha256))):
                repair = update(BlobRow).where(BlobRow.sha256 == sha256)
                await session.execute(repair.values(state="live", marked_at=None))
                await session.commit()
                return False
            await session.commit()
            return True

    @retried
    async def purge_claims(self, now: datetime) -> int:
        """Drop expired claims (they protect nothing any more)."""
        async with self._sessions() as session:
            done = await session.execute(delete(BlobClaimRow).where(BlobClaimRow.expires_at <= now))
            await session.commit()
            return int(done.rowcount)  # type: ignore[attr-defined]

    async def state(self, sha256: str) -> str | None:
        """'live', 'deleting' or None (no row): for tests and fsck."""
        async with self._sessions() as session:
            return await session.scalar(select(BlobRow.state).where(BlobRow.sha256 == sha256))
