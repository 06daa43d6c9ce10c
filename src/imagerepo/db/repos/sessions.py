"""All SQL about browser sessions (the gallery's cookie login).

A row holds the sha256 of the cookie's secret, never the secret itself. Ending a user's
sessions on a password change happens in `UserRepository` (same statement batch as the token
version bump); deleting a user removes theirs through the foreign key (ON DELETE CASCADE).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from imagerepo.db.repos.users import as_utc
from imagerepo.db.retry import retried
from imagerepo.db.tables import SessionRow, UserRow
from imagerepo.models import User


class SessionRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @retried
    async def add(self, key: str, user: str, csrf: str, start: datetime, end: datetime) -> None:
        """Store a session: `key` is the sha256 of its secret, `user` the user's id."""
        row = SessionRow(
            id_hash=key, user_id=user, csrf_token=csrf, created_at=start, expires_at=end
        )
        async with self._sessions() as session:
            session.add(row)
            await session.commit()

    async def find(self, id_hash: str) -> tuple[User, str, datetime] | None:
        """The session's user, CSRF token and expiry, in one primary-key lookup; None if there
        is no such session."""
        statement = (
            select(SessionRow, UserRow)
            .join(UserRow, UserRow.id == SessionRow.user_id)
            .where(SessionRow.id_hash == id_hash)
        )
        async with self._sessions() as session:
            found = (await session.execute(statement)).first()
        if found is None:
            return None
        row, owner = found
        user = User(
            id=owner.id,
            username=owner.username,
            is_admin=owner.is_admin,
            created_at=as_utc(owner.created_at),
        )
        return user, row.csrf_token, as_utc(row.expires_at)

    @retried
    async def delete(self, id_hash: str) -> None:
        async with self._sessions() as session:
            await session.execute(delete(SessionRow).where(SessionRow.id_hash == id_hash))
            await session.commit()

    @retried
    async def delete_expired(self, now: datetime) -> int:
        async with self._sessions() as session:
            done = await session.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
            await session.commit()
            return int(done.rowcount)  # type: ignore[attr-defined]
