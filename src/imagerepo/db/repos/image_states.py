"""SQL about `images.state` (migration 0009): what the job workers read and move.

Reads here are outside the access rule on purpose, like `ImageRepository.hash_in_use`: a job
works on an image by id whoever owns it, and nothing read here goes to a viewer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from imagerepo.db.image_rows import image_of, select_images
from imagerepo.db.retry import retried
from imagerepo.db.tables import ImageRow
from imagerepo.models import Image, ImageState


class ImageStateRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get_any(self, image_id: str) -> Image | None:
        query = select_images().where(ImageRow.id == image_id)
        async with self._sessions() as session:
            found = (await session.execute(query)).first()
            return image_of(found) if found else None

    @retried
    async def move(
        self,
        image_id: str,
        to: ImageState,
        now: datetime,
        *,
        only_from: ImageState | None = None,
        reason: str | None = None,
    ) -> bool:
        """Set the state (from `only_from` alone, if given); whether a row changed."""
        statement = (
            update(ImageRow)
            .where(ImageRow.id == image_id, ImageRow.state != to.value)
            .values(state=to.value, state_changed_at=now, state_reason=reason)
        )
        if only_from is not None:
            statement = statement.where(ImageRow.state == only_from.value)
        async with self._sessions() as session:
            result = await session.execute(statement)
            await session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    @retried
    async def claim_stale(self, older_than: datetime, now: datetime, limit: int) -> list[str]:
        """Ids of `processing` images untouched since before `older_than` (at most `limit`),
        stamped `now` in the same statement, so two sweepers never both claim one (and a claimed
        image is not claimed again while `older_than` <= `now`)."""
        untouched = or_(ImageRow.state_changed_at.is_(None), ImageRow.state_changed_at < older_than)
        stale = (
            select(ImageRow.id)
            .where(ImageRow.state == ImageState.PROCESSING.value, untouched)
            .limit(limit)
            .scalar_subquery()
        )
        statement = (
            update(ImageRow)
            .where(ImageRow.id.in_(stale), ImageRow.state == ImageState.PROCESSING.value, untouched)
            .values(state_changed_at=now)
            .returning(ImageRow.id)
        )
        async with self._sessions() as session:
            ids = list((await session.scalars(statement)).all())
            await session.commit()
            return ids

    async def counts(self) -> dict[ImageState, int]:
        """How many images are not ready, by state (read from the partial index)."""
        query = (
            select(ImageRow.state, func.count())
            .where(ImageRow.state != ImageState.READY.value)
            .group_by(ImageRow.state)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        found = {ImageState(state): int(n) for state, n in rows}
        return {state: found.get(state, 0) for state in (ImageState.PROCESSING, ImageState.FAILED)}
