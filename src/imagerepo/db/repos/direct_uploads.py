"""All SQL about direct-to-bucket uploads (`direct_uploads`, migration 0007_blobs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from imagerepo.db.repos.users import as_utc
from imagerepo.db.retry import retried
from imagerepo.db.tables import DirectUploadRow
from imagerepo.models import DirectUpload, Visibility


def _to_upload(row: DirectUploadRow) -> DirectUpload:
    details = row.details
    visibility = details.get("visibility")
    description = details.get("description")
    return DirectUpload(
        id=row.id,
        owner_id=row.owner_id,
        size=row.size,
        sha256=row.sha256,
        filename=str(details.get("filename", "upload")),
        description=description if isinstance(description, str) else None,
        visibility=Visibility(visibility) if isinstance(visibility, str) else None,
        tags=tuple(str(t) for t in details.get("tags", ()) or ()),  # type: ignore[attr-defined]
        created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at),
        image_id=row.image_id,
    )


class DirectUploadRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @retried
    async def add(self, upload: DirectUpload) -> None:
        details: dict[str, object] = {
            "filename": upload.filename,
            "description": upload.description,
            "visibility": upload.visibility.value if upload.visibility else None,
            "tags": list(upload.tags),
        }
        row = DirectUploadRow(
            id=upload.id,
            owner_id=upload.owner_id,
            size=upload.size,
            sha256=upload.sha256,
            details=details,
            created_at=upload.created_at,
            expires_at=upload.expires_at,
        )
        async with self._sessions() as session:
            session.add(row)
            await session.commit()

    async def get(self, upload_id: str) -> DirectUpload | None:
        async with self._sessions() as session:
            row = await session.get(DirectUploadRow, upload_id)
            return _to_upload(row) if row is not None else None

    @retried
    async def confirmed(self, upload_id: str, image_id: str) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(DirectUploadRow)
                .where(DirectUploadRow.id == upload_id)
                .values(image_id=image_id)
            )
            await session.commit()

    @retried
    async def delete(self, upload_id: str) -> None:
        async with self._sessions() as session:
            await session.execute(delete(DirectUploadRow).where(DirectUploadRow.id == upload_id))
            await session.commit()

    async def expired(self, now: datetime, limit: int) -> list[DirectUpload]:
        query = select(DirectUploadRow).where(DirectUploadRow.expires_at <= now).limit(limit)
        async with self._sessions() as session:
            return [_to_upload(row) for row in (await session.scalars(query)).all()]
