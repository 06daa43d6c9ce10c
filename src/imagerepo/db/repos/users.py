"""All SQL about users."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, exists, func, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from imagerepo.db.readers import Reader, SessionReader
from imagerepo.db.retry import retried
from imagerepo.db.tables import ImageRow, SessionRow, UserRow
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
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], reader: Reader | None = None
    ) -> None:
        self._sessions = sessions
        self._reader = reader or SessionReader(sessions)

    @retried
    async def add(self, user: User, password_hash: str, *, skeleton: str) -> User:
        """Insert `user`; `Conflict` if the name, or its `skeleton`, is taken (even by a user
        another server process inserted a moment ago: both are unique in the database)."""
        row = UserRow(
            id=user.id,
            username=user.username,
            username_skeleton=skeleton,
            password_hash=password_hash,
            is_admin=user.is_admin,
            created_at=user.created_at,
        )
        async with self._sessions() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError as exc:
                raise Conflict(
                    f"user {user.username!r} already exists, or one whose name looks the same"
                ) from exc
        return user

    async def by_id(self, user_id: str) -> User | None:
        async with self._sessions() as session:
            row = await session.get(UserRow, user_id)
            return _to_user(row) if row else None

    async def by_id_with_token_version(self, user_id: str) -> tuple[User, int] | None:
        """The user and the token version their tokens must carry. Asked on every signed-in
        request the cache does not answer: one call of the reader (`db.readers`)."""

        def read(session: Session) -> tuple[User, int] | None:
            row = session.get(UserRow, user_id)
            return (_to_user(row), row.token_version) if row else None

        return await self._reader.run(read, "user by id")

    async def credentials(self, username: str) -> UserCredentials | None:
        async with self._sessions() as session:
            row = await session.scalar(select(UserRow).where(UserRow.username == username))
            return UserCredentials(_to_user(row), row.password_hash) if row else None

    async def by_username(self, username: str) -> User | None:
        found = await self.credentials(username)
        return found.user if found else None

    async def by_skeleton(self, skeleton: str) -> User | None:
        async with self._sessions() as session:
            row = await session.scalar(select(UserRow).where(UserRow.username_skeleton == skeleton))
            return _to_user(row) if row else None

    @retried
    async def set_password_hash(
        self, user_id: str, password_hash: str, *, revoke_tokens: bool = False
    ) -> bool:
        """Store a new hash; with `revoke_tokens`, in the same statement bump the token version,
        so every token issued before stops working, and in the same transaction end the user's
        browser sessions. False if there is no such user."""
        values: dict[str, object] = {"password_hash": password_hash}
        if revoke_tokens:
            values["token_version"] = UserRow.token_version + 1
        async with self._sessions() as session:
            done = await session.execute(
                update(UserRow).where(UserRow.id == user_id).values(values)
            )
            if revoke_tokens:
                await session.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
            await session.commit()
            return bool(done.rowcount)  # type: ignore[attr-defined]

    @retried
    async def revoke_tokens(self, user_id: str) -> None:
        """Every token issued so far stops working, and every browser session ends, at once."""
        async with self._sessions() as session:
            await session.execute(
                update(UserRow)
                .where(UserRow.id == user_id)
                .values(token_version=UserRow.token_version + 1)
            )
            await session.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
            await session.commit()

    async def with_image_counts(self) -> list[tuple[User, int]]:
        """Every user with how many images they own, by name."""
        statement = (
            select(UserRow, func.count(ImageRow.id))
            .outerjoin(ImageRow, ImageRow.owner_id == UserRow.id)
            .group_by(UserRow.id)
            .order_by(UserRow.username)
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
            return [(_to_user(row), int(count)) for row, count in rows]

    @retried
    async def delete(self, user_id: str) -> bool:
        """Delete a user who owns no image and is not the last admin, in one statement, so a
        concurrent upload or admin deletion cannot slip between a check and the delete (the
        images' foreign key would otherwise remove their rows silently). False if refused."""
        other_admins = (
            select(func.count())
            .select_from(UserRow)
            .where(UserRow.is_admin, UserRow.id != user_id)
            .scalar_subquery()
        )
        statement = delete(UserRow).where(
            UserRow.id == user_id,
            not_(exists().where(ImageRow.owner_id == user_id)),
            or_(not_(UserRow.is_admin), other_admins > 0),
        )
        async with self._sessions() as session:
            done = await session.execute(statement)
            await session.commit()
            return bool(done.rowcount)  # type: ignore[attr-defined]

    async def count_admins(self) -> int:
        async with self._sessions() as session:
            query = select(func.count()).select_from(UserRow).where(UserRow.is_admin)
            return int(await session.scalar(query) or 0)

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)
