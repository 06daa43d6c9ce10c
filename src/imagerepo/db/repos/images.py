"""All SQL about images but listing and search (`db/search/`): insert, fetch, update, delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from imagerepo.db.access import visible_in
from imagerepo.db.image_rows import image_of, images_of, select_images
from imagerepo.db.keys import local_month, upload_key, utc
from imagerepo.db.readers import Reader, SessionReader
from imagerepo.db.retry import retried
from imagerepo.db.similarity import (
    BAND_WIDTHS,
    band_neighbourhood,
    hamming,
    phash_bands,
    probe_radii,
)
from imagerepo.db.tables import ImageRow, ImageTagRow
from imagerepo.errors import Conflict
from imagerepo.folding import fold
from imagerepo.models import (
    Image,
    Scope,
    StoredState,
    Visibility,
)

_IN_BATCH = 500  # bound parameters per IN (...) list
_KEY_ATTEMPTS = 3


def _row_values(new: Image) -> dict[str, Any]:
    metadata = new.metadata
    bands = phash_bands(new.phash) if new.phash is not None else (None, None, None)
    sort_taken_at = utc(metadata.taken_at or new.created_at)
    return dict(
        id=new.id,
        owner_id=new.owner_id,
        title=new.title,
        filename=new.filename,
        description=new.description,
        visibility=new.visibility.value,
        sha256=new.sha256,
        size=new.size,
        media_type=new.media_type,
        width=new.width,
        height=new.height,
        created_at=new.created_at,
        taken_at=utc(metadata.taken_at) if metadata.taken_at else None,  # stored in UTC
        camera_make=metadata.camera_make,
        camera_model=metadata.camera_model,
        gps_latitude=metadata.gps_latitude,
        gps_longitude=metadata.gps_longitude,
        photo_metadata=metadata.as_dict(include_private=True),
        phash=new.phash,
        phash_band0=bands[0],
        phash_band1=bands[1],
        phash_band2=bands[2],
        upload_key=upload_key(new.created_at, new.id),
        sort_taken_at=sort_taken_at,
        local_month=local_month(metadata.taken_at_local, sort_taken_at),
        lens=metadata.lens,
        search_text=fold(f"{new.title}\n{new.description}"),
        tags=list(new.tags),
        state=new.state.value,
        state_changed_at=new.created_at,
    )


def _to_row(new: Image) -> ImageRow:
    return ImageRow(**_row_values(new))


def _tag_values(image_id: str, tags: Sequence[str]) -> list[dict[str, str]]:
    return [{"image_id": image_id, "tag_key": key} for key in dict.fromkeys(map(fold, tags))]


def _tag_rows(image_id: str, tags: Sequence[str]) -> list[ImageTagRow]:
    return [ImageTagRow(**values) for values in _tag_values(image_id, tags)]


class ImageRepository:
    """`reader` runs the reads of whole images (one, a batch, the similar ones): on a SQLite
    file one call each instead of a thread hop per statement (`db.readers`)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], reader: Reader | None = None
    ) -> None:
        self._sessions = sessions
        self._reader = reader or SessionReader(sessions)

    @retried
    async def add(self, new: Image) -> Image:
        """Insert one row (with its tags); `Conflict` if this owner already has these bytes.

        Returns the image as stored: in the rare case that another upload has the same
        `upload_key` (same microsecond, same 10 bits of id hash), the upload time moves on by
        a microsecond.
        """
        for _ in range(_KEY_ATTEMPTS):
            async with self._sessions() as session:
                session.add(_to_row(new))
                session.add_all(_tag_rows(new.id, new.tags))
                try:
                    await session.commit()
                    return new
                except IntegrityError as exc:
                    if "upload_key" not in str(exc.orig):
                        raise Conflict("this owner already has an image with these bytes") from exc
            new = replace(new, created_at=new.created_at + timedelta(microseconds=1))
        raise Conflict("could not find a free upload key")

    @retried
    async def add_many(self, images: Sequence[Image]) -> None:
        """Insert many rows in one transaction (bulk loads, benchmarks; no conflict handling)."""
        tags = [values for image in images for values in _tag_values(image.id, image.tags)]
        async with self._sessions() as session:
            await session.execute(insert(ImageRow), [_row_values(image) for image in images])
            if tags:
                await session.execute(insert(ImageTagRow), tags)
            await session.commit()

    async def get(self, image_id: str, scope: Scope) -> Image | None:
        """The image, if `scope` admits it."""
        query = select_images().where(ImageRow.id == image_id, visible_in(scope))

        def read(session: Session) -> Image | None:
            found = session.execute(query).first()
            return image_of(found) if found else None

        return await self._reader.run(read, "image by id")

    async def by_owner_and_hash(self, owner_id: str, sha256: str, scope: Scope) -> Image | None:
        query = select_images().where(
            ImageRow.owner_id == owner_id, ImageRow.sha256 == sha256, visible_in(scope)
        )
        async with self._sessions() as session:
            found = (await session.execute(query)).first()
            return image_of(found) if found else None

    @retried
    async def update(
        self,
        image_id: str,
        *,
        description: str | None,
        visibility: Visibility | None,
        tags: Sequence[str] | None = None,
    ) -> None:
        """Change what is given; the search indexes follow in the same transaction."""
        if description is None and visibility is None and tags is None:
            return
        async with self._sessions() as session:
            row = await session.get(ImageRow, image_id)
            if row is None:
                return
            if description is not None:
                row.description = description
                row.search_text = fold(f"{row.title}\n{description}")
            if visibility is not None:
                row.visibility = visibility.value
            if tags is not None:
                row.tags = list(tags)
                await session.execute(delete(ImageTagRow).where(ImageTagRow.image_id == image_id))
                session.add_all(_tag_rows(image_id, tags))
            await session.commit()

    @retried
    async def delete(self, image_id: str) -> None:
        async with self._sessions() as session:
            await session.execute(delete(ImageRow).where(ImageRow.id == image_id))
            await session.commit()

    async def existing_hashes(
        self, owner_id: str, digests: Sequence[str], scope: Scope
    ) -> dict[str, StoredState]:
        """Which of `digests` this owner already has: digest → (id, visibility, description)."""
        found: dict[str, StoredState] = {}
        async with self._sessions() as session:
            for start in range(0, len(digests), _IN_BATCH):
                batch = digests[start : start + _IN_BATCH]
                rows = await session.execute(
                    select(
                        ImageRow.sha256, ImageRow.id, ImageRow.visibility, ImageRow.description
                    ).where(
                        ImageRow.owner_id == owner_id,
                        ImageRow.sha256.in_(batch),
                        visible_in(scope),
                    )
                )
                found.update(
                    {row[0]: StoredState(row[1], Visibility(row[2]), row[3]) for row in rows}
                )
        return found

    async def ids_owned_by(self, owner_id: str, limit: int) -> list[str]:
        """Up to `limit` ids of this owner's images (for account clean-up, in batches)."""
        query = select(ImageRow.id).where(ImageRow.owner_id == owner_id).limit(limit)
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def count_owned_by(self, owner_id: str) -> int:
        query = select(func.count()).select_from(ImageRow).where(ImageRow.owner_id == owner_id)
        async with self._sessions() as session:
            return int(await session.scalar(query) or 0)

    async def near(
        self, phash: int, distance: int, *, scope: Scope, owner_id: str | None = None
    ) -> list[tuple[str, int]]:
        """(id, Hamming distance) of the images `scope` admits whose perceptual hash is within
        `distance` bits of `phash`, nearest first (ties by id). Candidates come from the band
        indexes (`db.similarity`); only ids and hashes are read."""
        probes = [
            band_neighbourhood(value, width, radius)
            for value, width, radius in zip(
                phash_bands(phash), BAND_WIDTHS, probe_radii(distance), strict=True
            )
        ]
        statement = select(ImageRow.id, ImageRow.phash).where(
            visible_in(scope, checked_per_row=True),  # the band indexes drive
            ImageRow.phash.is_not(None),
            or_(
                ImageRow.phash_band0.in_(probes[0]),
                ImageRow.phash_band1.in_(probes[1]),
                ImageRow.phash_band2.in_(probes[2]),
            ),
        )
        if owner_id is not None:
            statement = statement.where(ImageRow.owner_id.concat("") == owner_id)
        rows = await self._reader.run(lambda session: session.execute(statement).all(), "near")
        found = [(row[0], hamming(phash, row[1])) for row in rows if row[1] is not None]
        return sorted((f for f in found if f[1] <= distance), key=lambda f: (f[1], f[0]))

    async def get_many(self, image_ids: Sequence[str], scope: Scope) -> dict[str, Image]:
        def read(session: Session) -> dict[str, Image]:
            found: dict[str, Image] = {}
            for start in range(0, len(image_ids), _IN_BATCH):
                batch = image_ids[start : start + _IN_BATCH]
                rows = session.execute(
                    # The ids drive; a visibility index would walk every public row.
                    select_images().where(
                        ImageRow.id.in_(batch), visible_in(scope, checked_per_row=True)
                    )
                )
                found.update({image.id: image for image in images_of(rows.all())})
            return found

        return await self._reader.run(read, "images by id")

    async def hash_in_use(self, sha256: str) -> bool:
        """Whether any row of anyone references these bytes: the global blob-reference check,
        deliberately outside the access rule."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(ImageRow.id).where(ImageRow.sha256 == sha256).limit(1)
            )
            return found is not None
