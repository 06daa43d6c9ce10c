"""All SQL about users."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from imagerepo.db.tables import UserRow
from imagerepo.errors import Conflict
from imagerepo.models import User, UserCredentials


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _to_user(row: UserRow) -> User:
    return User(
        id=row.id, username=row.username, is_admin=row.is_admin, created_at=as_utc(row.created_at)
    )


class UserRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, user: User, password_hash: str) -> User:
        row = UserRow(
            id=user.id,
            username=user.username,
            password_hash=password_hash,
            is_admin=user.is_admin,
            created_at=user.created_at,
        )
        async with self._sessions() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError as exc:
                raise Conflict(f"user {user.username!r} already exists") from exc
        return user

    async def by_id(self, user_id: str) -> User | None:
        async with self._sessions() as session:
            row = await session.get(UserRow, user_id)
            return _to_user(row) if row else None

    async def credentials(self, username: str) -> UserCredentials | None:
        async with self._sessions() as session:
            row = await session.scalar(select(UserRow).where(UserRow.username == username))
            return UserCredentials(_to_user(row), row.password_hash) if row else None

    async def by_username(self, username: str) -> User | None:
        found = await self.credentials(username)
        return found.user if found else None

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        async with self._sessions() as session:
            row = await session.get(UserRow, user_id)
            if row is not None:
                row.password_hash = password_hash
                await session.commit()

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)
