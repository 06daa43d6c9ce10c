"""All SQL about images: insert, fetch, keyset listing, update and delete."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from imagerepo.db.access import visible_in
from imagerepo.db.repos.users import as_utc
from imagerepo.db.similarity import BAND_WIDTHS, band_neighbourhood, phash_bands
from imagerepo.db.tables import ImageRow, UserRow
from imagerepo.errors import Conflict
from imagerepo.models import (
    Image,
    ImageQuery,
    Page,
    PhotoMetadata,
    Scope,
    StoredState,
    Visibility,
)

_IN_BATCH = 500  # bound parameters per IN (...) list


def _to_image(row: ImageRow, owner: str) -> Image:
    metadata = PhotoMetadata.from_dict(dict(row.photo_metadata or {}))
    return Image(
        id=row.id,
        owner_id=row.owner_id,
        owner=owner,
        title=row.title,
        filename=row.filename,
        description=row.description,
        visibility=Visibility(row.visibility),
        sha256=row.sha256,
        size=row.size,
        media_type=row.media_type,
        width=row.width,
        height=row.height,
        created_at=as_utc(row.created_at),
        taken_at=as_utc(row.taken_at) if row.taken_at else None,
        metadata=metadata,
        phash=row.phash,
    )


def _to_row(new: Image) -> ImageRow:
    metadata = new.metadata
    bands = phash_bands(new.phash) if new.phash is not None else (None, None, None)
    return ImageRow(
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
        taken_at=metadata.taken_at,
        camera_make=metadata.camera_make,
        camera_model=metadata.camera_model,
        gps_latitude=metadata.gps_latitude,
        gps_longitude=metadata.gps_longitude,
        photo_metadata=metadata.as_dict(include_private=True),
        phash=new.phash,
        phash_band0=bands[0],
        phash_band1=bands[1],
        phash_band2=bands[2],
    )


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _with_owner() -> Select[ImageRow, str]:
    return select(ImageRow, UserRow.username).join(UserRow, UserRow.id == ImageRow.owner_id)


class ImageRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, new: Image) -> None:
        """Insert one row; `Conflict` if this owner already has these bytes."""
        async with self._sessions() as session:
            session.add(_to_row(new))
            try:
                await session.commit()
            except IntegrityError as exc:
                raise Conflict("this owner already has an image with these bytes") from exc

    async def get(self, image_id: str, scope: Scope) -> Image | None:
        """The image, if `scope` admits it."""
        query = _with_owner().where(ImageRow.id == image_id, visible_in(scope))
        async with self._sessions() as session:
            found = (await session.execute(query)).first()
            return _to_image(found[0], found[1]) if found else None

    async def by_owner_and_hash(self, owner_id: str, sha256: str, scope: Scope) -> Image | None:
        query = _with_owner().where(
            ImageRow.owner_id == owner_id, ImageRow.sha256 == sha256, visible_in(scope)
        )
        async with self._sessions() as session:
            found = (await session.execute(query)).first()
            return _to_image(found[0], found[1]) if found else None

    async def page(self, query: ImageQuery) -> Page:
        """One page, newest first, of the images `query.scope` admits.

        Visibility is part of the WHERE clause, so a private image of somebody else can never be
        counted, paged over or matched by a keyword.
        """
        statement = _with_owner().where(visible_in(query.scope))
        if query.owner is not None:
            statement = statement.where(UserRow.username == query.owner)
        for word in query.keywords:
            pattern = f"%{_escape_like(word.lower())}%"
            statement = statement.where(
                or_(
                    func.lower(ImageRow.title).like(pattern, escape="\\"),
                    func.lower(ImageRow.description).like(pattern, escape="\\"),
                )
            )
        if query.after is not None:
            created_at, image_id = query.after
            statement = statement.where(
                or_(
                    ImageRow.created_at < created_at,
                    and_(ImageRow.created_at == created_at, ImageRow.id < image_id),
                )
            )
        statement = statement.order_by(ImageRow.created_at.desc(), ImageRow.id.desc())
        statement = statement.limit(query.limit + 1)
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        items = [_to_image(row[0], row[1]) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        last = items[-1] if more and items else None
        return Page(items=items, next_after=(last.created_at, last.id) if last else None)

    async def update(
        self, image_id: str, *, description: str | None, visibility: Visibility | None
    ) -> None:
        values: dict[str, str] = {}
        if description is not None:
            values["description"] = description
        if visibility is not None:
            values["visibility"] = visibility.value
        if not values:
            return
        async with self._sessions() as session:
            await session.execute(update(ImageRow).where(ImageRow.id == image_id).values(**values))
            await session.commit()

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
        self, phash: int, radius: int, *, scope: Scope, owner_id: str | None = None
    ) -> list[tuple[str, int]]:
        """(id, phash) of images `scope` admits whose hash agrees with `phash` to within
        `radius` bits in at least one band: a superset of all within distance 3*radius+2."""
        probes = [
            band_neighbourhood(value, width, radius)
            for value, width in zip(phash_bands(phash), BAND_WIDTHS, strict=True)
        ]
        statement = select(ImageRow.id, ImageRow.phash).where(
            visible_in(scope),
            ImageRow.phash.is_not(None),
            or_(
                ImageRow.phash_band0.in_(probes[0]),
                ImageRow.phash_band1.in_(probes[1]),
                ImageRow.phash_band2.in_(probes[2]),
            ),
        )
        if owner_id is not None:
            statement = statement.where(ImageRow.owner_id == owner_id)
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return [(row[0], row[1]) for row in rows if row[1] is not None]

    async def get_many(self, image_ids: Sequence[str], scope: Scope) -> dict[str, Image]:
        found: dict[str, Image] = {}
        async with self._sessions() as session:
            for start in range(0, len(image_ids), _IN_BATCH):
                batch = image_ids[start : start + _IN_BATCH]
                rows = await session.execute(
                    _with_owner().where(ImageRow.id.in_(batch), visible_in(scope))
                )
                found.update({row[0].id: _to_image(row[0], row[1]) for row in rows})
        return found

    async def hash_in_use(self, sha256: str) -> bool:
        """Whether any row of anyone references these bytes: the global blob-reference check,
        deliberately outside the access rule."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(ImageRow.id).where(ImageRow.sha256 == sha256).limit(1)
            )
            return found is not None
