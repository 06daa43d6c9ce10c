"""The image rules: ingest with dedupe, visibility on every read, owner-only changes, caching."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO, Literal, Protocol

from anyio import to_thread

from imagerepo.cache.base import Cache
from imagerepo.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from imagerepo.folding import fold
from imagerepo.models import (
    Filters,
    Image,
    ImageState,
    MonthCount,
    Page,
    Scope,
    SimilarImage,
    StoredState,
    User,
    Visibility,
)
from imagerepo.policy import (
    Viewer,
    may_change,
    may_see,
    may_see_private_fields,
    own_scope,
    scope_of,
)
from imagerepo.services.analysis import analyse_upload
from imagerepo.services.blob_refs import BlobReferences
from imagerepo.services.clock import Clock
from imagerepo.services.cursors import encode_position
from imagerepo.services.derivatives import Derivatives, Kind
from imagerepo.services.ids import new_id
from imagerepo.services.image_cache import ImageCacheKeys
from imagerepo.services.processing import ImageProcessing
from imagerepo.services.rendering import CopyFormat, OutputFormat, full_copy_format
from imagerepo.services.search import ImageSearch, SearchRequest, build_query, clean_tags
from imagerepo.services.text import clean_line, clean_multiline
from imagerepo.storage.base import BlobStore, OpenBlob
from imagerepo.storage.staging import StagedFile, Staging
from imagerepo.workers import WorkerPool

MAX_DESCRIPTION = 10_000
MAX_CHECK_DIGESTS = 10_000
MAX_SIMILAR_DISTANCE = 12
NEAR_DUPLICATE_DISTANCE = 5  # probes each band at radius 1: ~70 values, not ~700
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class ImageStore(Protocol):
    async def add(self, new: Image) -> Image: ...
    async def get(self, image_id: str, scope: Scope) -> Image | None: ...
    async def by_owner_and_hash(self, owner_id: str, sha256: str, scope: Scope) -> Image | None: ...
    async def update(
        self,
        image_id: str,
        *,
        description: str | None,
        visibility: Visibility | None,
        tags: Sequence[str] | None = None,
    ) -> None: ...
    async def delete(self, image_id: str) -> None: ...
    async def existing_hashes(
        self, owner_id: str, digests: Sequence[str], scope: Scope
    ) -> dict[str, StoredState]: ...
    async def near(
        self, phash: int, distance: int, *, scope: Scope, owner_id: str | None = None
    ) -> list[tuple[str, int]]: ...
    async def get_many(self, image_ids: Sequence[str], scope: Scope) -> dict[str, Image]: ...
    async def ids_owned_by(self, owner_id: str, limit: int) -> list[str]: ...
    async def count_owned_by(self, owner_id: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Listing:
    items: list[Image]
    next_cursor: str | None


Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class Ingested:
    image: Image
    outcome: Outcome
    near_duplicates: list[tuple[str, int]]  # (image id, Hamming distance), nearest first

    @property
    def created(self) -> bool:
        return self.outcome == "created"


@dataclass(frozen=True, slots=True)
class ImageFile:
    """An image's bytes, already open, so a delete that lands afterwards cannot cut the answer
    short: a local file (an open file outlives its name), or on a remote store a pinned read
    handle (`blob`, the whole object) plus `reopen` for a Range request."""

    image: Image
    file: BinaryIO | None
    blob: OpenBlob | None
    reopen: Callable[[int, int | None], Awaitable[OpenBlob]] | None
    media_type: str
    etag: str
    filename: str | None  # for Content-Disposition; None for derivatives


def clean_filename(raw: str | None) -> str:
    """The last path component of a client-supplied name, cleaned as one line of text
    (`services.text`: no controls or bidi characters, joiners kept); "upload" if none is left."""
    name = PureWindowsPath(PurePosixPath(clean_line(raw or "")).name).name.strip()
    return name[:255] if name not in ("", ".", "..") else "upload"


def title_from(filename: str) -> str:
    stem = PurePosixPath(filename).stem or filename
    return re.sub(r"\s+", " ", clean_line(stem))[:255].strip() or "untitled"


def parse_visibility(raw: str | None) -> Visibility | None:
    if raw is None or raw == "":
        return None
    try:
        return Visibility(raw.strip().lower())
    except ValueError as exc:
        raise ValidationFailed("visibility must be 'public' or 'private'") from exc


def check_description(description: str | None) -> str | None:
    """`description` cleaned as prose (`services.text`), at most MAX_DESCRIPTION characters."""
    if description is None:
        return None
    description = clean_multiline(description)
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"a description is at most {MAX_DESCRIPTION} characters")
    return description


class ImageService:
    def __init__(
        self,
        images: ImageStore,
        search: ImageSearch,
        blobs: BlobStore,
        derivatives: Derivatives,
        staging: Staging,
        cache: Cache,
        pool: WorkerPool,
        clock: Clock,
        *,
        max_upload_bytes: int,
        max_image_pixels: int,
        refs: BlobReferences,
        processing: ImageProcessing | None = None,
    ) -> None:
        self._images = images
        self._search = search
        self._blobs = blobs
        self._derivatives = derivatives
        self._staging = staging
        self._cache = cache
        self._keys = ImageCacheKeys(cache)
        self._pool = pool
        self._clock = clock
        self._max_upload_bytes = max_upload_bytes
        self._max_image_pixels = max_image_pixels
        # Upload and delete of the same bytes, in any process: claims and reference rows in
        # the database decide which blobs may go (services/blob_refs.py), not locks.
        self._refs = refs
        self._processing = processing  # None: derivatives only on request, images born ready

    def receive(self) -> AbstractAsyncContextManager[StagedFile]:
        """A staged file for an incoming upload; gone on exit unless `ingest` stored it."""
        return self._staging.file(self._max_upload_bytes)

    async def ingest(
        self,
        owner: User,
        staged: StagedFile,
        *,
        filename: str | None,
        description: str | None = None,
        visibility: Visibility | None = None,
        tags: Sequence[str] = (),
        store_original: Callable[[str, Path], Awaitable[object]] | None = None,
    ) -> Ingested:
        """Store a fully received upload.

        Order: decode (reject bad bytes before anything is kept), blob (durable), then row. The
        answer goes out only after both are committed, so an acknowledged upload is never lost.
        Bytes this owner already has are not stored again; an explicit `visibility` or
        `description` is applied to the stored image instead (no flag, no change).
        `store_original(sha256, staged path)` replaces the blob store's `put` (a direct upload
        copies its object inside the bucket instead).
        """
        sha256 = await staged.finish()
        description = check_description(description)
        wanted_tags = clean_tags(tuple(tags))
        existing = await self._images.by_owner_and_hash(owner.id, sha256, own_scope(owner.id))
        if existing is not None:
            return await self._apply_flags(owner, existing, description, visibility)
        analysis = await self._pool.run(analyse_upload, staged.path, self._max_image_pixels)
        name = clean_filename(filename)
        new = Image(
            id=new_id(),
            owner_id=owner.id,
            owner=owner.username,
            title=title_from(name),
            filename=name,
            description=description or "",
            visibility=visibility or Visibility.PUBLIC,
            sha256=sha256,
            size=staged.size,
            media_type=analysis.info.media_type,
            width=analysis.info.width,
            height=analysis.info.height,
            created_at=self._clock(),
            taken_at=analysis.metadata.taken_at,
            metadata=analysis.metadata,
            phash=analysis.phash,
            tags=wanted_tags,
            state=ImageState.READY if self._processing is None else ImageState.PROCESSING,
        )
        try:
            async with self._refs.claimed(sha256, staged.size):  # before the bytes are written
                await (store_original or self._blobs.put)(sha256, staged.path)
                new = await self._images.add(new)
        except Conflict:
            # The same owner sent the same bytes twice at once: the other request won.
            winner = await self._images.by_owner_and_hash(owner.id, sha256, own_scope(owner.id))
            if winner is None:
                raise
            return await self._apply_flags(owner, winner, description, visibility)
        except BaseException:
            await self._refs.free(sha256)  # unless another image or upload names the bytes
            raise
        await self._keys.written(new)
        await self._derivatives.save_thumbnail(sha256, analysis.thumbnail)
        if self._processing is not None:
            await self._processing.enqueue(new.id)  # after the commit: a job finds its row
        near = await self._similar_to(new, Viewer.of(owner), NEAR_DUPLICATE_DISTANCE, owner.id)
        return Ingested(new, outcome="created", near_duplicates=near)

    async def _apply_flags(
        self, owner: User, image: Image, description: str | None, visibility: Visibility | None
    ) -> Ingested:
        """Re-upload of stored bytes: explicit flags win, and only what differs is written."""
        wanted_description = description if description != image.description else None
        wanted_visibility = visibility if visibility is not image.visibility else None
        if wanted_description is None and wanted_visibility is None:
            return Ingested(image, outcome="unchanged", near_duplicates=[])
        updated = await self.update(
            Viewer.of(owner),
            image.id,
            description=wanted_description,
            visibility=wanted_visibility,
        )
        return Ingested(updated, outcome="updated", near_duplicates=[])

    async def check(
        self, owner: User, digests: Sequence[str]
    ) -> tuple[dict[str, StoredState], list[str]]:
        """Which of these sha256 digests `owner` already has (digest → its state), and the rest."""
        if len(digests) > MAX_CHECK_DIGESTS:
            raise ValidationFailed(f"check at most {MAX_CHECK_DIGESTS} digests per request")
        wanted = list(dict.fromkeys(d.lower() for d in digests))
        if not all(_DIGEST.match(d) for d in wanted):
            raise ValidationFailed("digests are sha256 hex strings (64 characters)")
        existing = await self._images.existing_hashes(owner.id, wanted, own_scope(owner.id))
        return existing, [d for d in wanted if d not in existing]

    async def similar(
        self, viewer: Viewer, image_id: str, *, distance: int = 8, limit: int = 50
    ) -> list[SimilarImage]:
        """Images `viewer` may see whose perceptual hash is within `distance` bits, nearest
        first (anonymous viewers: public images only)."""
        if not 0 <= distance <= MAX_SIMILAR_DISTANCE:
            raise ValidationFailed(f"distance is between 0 and {MAX_SIMILAR_DISTANCE}")
        image = await self.get(viewer, image_id)
        nearest = (await self._similar_to(image, viewer, distance))[:limit]
        images = await self._images.get_many([i for i, _ in nearest], scope_of(viewer))
        return [SimilarImage(images[i], d) for i, d in nearest if i in images]

    async def similar_to_file(
        self, user: User, staged: StagedFile, *, distance: int = 8, limit: int = 50
    ) -> list[SimilarImage]:
        """Images `user` may see that look like a received file, nearest first; the file is
        decoded (with the upload's limits) only for its perceptual hash, and never stored."""
        if not 0 <= distance <= MAX_SIMILAR_DISTANCE:
            raise ValidationFailed(f"distance is between 0 and {MAX_SIMILAR_DISTANCE}")
        await staged.finish()
        analysis = await self._pool.run(analyse_upload, staged.path, self._max_image_pixels)
        if analysis.phash is None:
            return []
        scope = scope_of(Viewer.of(user))
        nearest = (await self._images.near(analysis.phash, distance, scope=scope))[:limit]
        images = await self._images.get_many([i for i, _ in nearest], scope)
        return [SimilarImage(images[i], d) for i, d in nearest if i in images]

    async def _similar_to(
        self, image: Image, viewer: Viewer, distance: int, owner_id: str | None = None
    ) -> list[tuple[str, int]]:
        """(id, distance) of visible images within `distance` of `image`, nearest first."""
        if image.phash is None:
            return []
        found = await self._images.near(
            image.phash, distance, scope=scope_of(viewer), owner_id=owner_id
        )
        return [f for f in found if f[0] != image.id]

    async def derivative(
        self, viewer: Viewer, image_id: str, kind: Kind, fmt: OutputFormat
    ) -> ImageFile:
        image = await self.get(viewer, image_id)
        return await self._open_derivative(image, kind, fmt, None)

    async def get(self, viewer: Viewer, image_id: str) -> Image:
        """The image if `viewer` may see it; a private image of somebody else does not exist."""
        key = await self._keys.for_image(image_id)
        cached = await self._cache.get(key)
        image = cached if isinstance(cached, Image) else None
        if image is None:
            # Read whatever exists and cache it; the rule below decides, for cached and fresh
            # alike, so a cache hit can never widen what a viewer sees.
            image = await self._images.get(image_id, scope_of(viewer))
            if image is not None:
                await self._cache.set(key, image)
        if image is None or not may_see(viewer, image):
            raise NotFound("no such image")
        return image

    async def list(
        self,
        viewer: Viewer,
        request: SearchRequest | None = None,
        *,
        owner: str | None = None,
        keywords: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Listing:
        """One page of what `viewer` may see, filtered, searched and sorted (services.search);
        the keyword arguments are a shorthand for the commonest `SearchRequest`."""
        if request is None:
            request = SearchRequest(
                keywords=keywords, filters=Filters(owner=owner), limit=limit, cursor=cursor
            )
        query = build_query(scope_of(viewer), request)
        key = await self._keys.for_scope("list", query.scope, repr(query))
        cached = await self._cache.get(key)
        page = cached if isinstance(cached, Page) else await self._search.page(query)
        if cached is None:
            await self._cache.set(key, page)
        return Listing(
            items=page.items,
            next_cursor=encode_position(query.sort, page.next_after) if page.next_after else None,
        )

    async def timeline(self, viewer: Viewer, request: SearchRequest) -> Sequence[MonthCount]:
        """How many images `viewer` may see per month of capture (upload month if undated),
        with the same search and filters as `list`."""
        query = build_query(scope_of(viewer), replace(request, cursor=None))
        key = await self._keys.for_scope("timeline", query.scope, repr(query))
        cached = await self._cache.get(key)
        if isinstance(cached, list):
            return cached
        counts = await self._search.timeline(query)
        await self._cache.set(key, counts)
        return counts

    async def open_file(self, viewer: Viewer, image_id: str) -> ImageFile:
        """The original bytes for the owner. Anyone else gets the full picture re-encoded with
        no metadata at all: an original can carry its location in EXIF, XMP or IPTC."""
        image = await self.get(viewer, image_id)
        if may_see_private_fields(viewer, image):
            path = self._blobs.local_path(image.sha256)
            if path is None:
                reopen = partial(self._blobs.open, image.sha256)
                blob = await _pin(reopen)
                return ImageFile(
                    image, None, blob, reopen, image.media_type, image.sha256, image.filename
                )
            handle = await _open_or_none(path)
            if handle is None:
                raise NotFound("no such image")  # deleted since `get` read its row
            return ImageFile(
                image, handle, None, None, image.media_type, image.sha256, image.filename
            )
        fmt = full_copy_format(image.media_type)  # PNG keeps palette and grey at 1 byte a pixel
        name = f"{PurePosixPath(image.filename).stem or 'image'}.{'jpg' if fmt == 'jpeg' else fmt}"
        return await self._open_derivative(image, "full", fmt, name)

    async def _open_derivative(
        self, image: Image, kind: Kind, fmt: CopyFormat, filename: str | None
    ) -> ImageFile:
        found = await self._derivatives.get(image, kind, fmt)
        if found.path is None:
            reopen = partial(self._derivatives.open, found.key)
            blob = await _pin(reopen)
            return ImageFile(image, None, blob, reopen, found.media_type, found.key, filename)
        handle = await _open_or_none(found.path)
        if handle is None:
            # Gone between render and open: deleted with its image (404), or pruned (render again).
            if await self._images.get(image.id, own_scope(image.owner_id)) is None:
                raise NotFound("no such image")
            found = await self._derivatives.get(image, kind, fmt)
            handle = await _open_or_none(found.path) if found.path else None
            if handle is None:
                raise NotFound("no such image")
        return ImageFile(image, handle, None, None, found.media_type, found.key, filename)

    async def update(
        self,
        viewer: Viewer,
        image_id: str,
        *,
        description: str | None = None,
        visibility: Visibility | None = None,
        tags: Sequence[str] | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> Image:
        """Owner only. `tags` replaces every tag; `add_tags` and `remove_tags` edit them (case
        and accents ignored when removing)."""
        image = await self._owned(viewer, image_id)
        new_tags = None
        if tags is not None or add_tags or remove_tags:
            gone = {fold(t) for t in clean_tags(tuple(remove_tags))}
            start = image.tags if tags is None else clean_tags(tuple(tags))
            kept = [t for t in start if fold(t) not in gone]
            new_tags = clean_tags((*kept, *clean_tags(tuple(add_tags))))
        await self._images.update(
            image.id,
            description=check_description(description),
            visibility=visibility,
            tags=new_tags,
        )
        now = visibility or image.visibility
        await self._keys.written(replace(image, visibility=now), was=image.visibility)
        return await self.get(viewer, image.id)

    async def delete(self, viewer: Viewer, image_id: str) -> None:
        await self._remove(await self._owned(viewer, image_id))

    async def _remove(self, image: Image) -> None:
        await self._images.delete(image.id)
        await self._keys.written(image)
        await self._refs.free(image.sha256)  # bytes and derivatives, if nothing else names them

    async def count_owned_by(self, owner_id: str) -> int:
        """How many images this account owns (for account removal)."""
        return await self._images.count_owned_by(owner_id)

    async def delete_all_owned_by(self, owner_id: str) -> int:
        """Delete every image of this account, bytes included where nobody else has them."""
        deleted = 0
        while ids := await self._images.ids_owned_by(owner_id, 500):
            for image in (await self._images.get_many(ids, own_scope(owner_id))).values():
                await self._remove(image)
                deleted += 1
        return deleted

    async def _owned(self, viewer: Viewer, image_id: str) -> Image:
        image = await self.get(viewer, image_id)
        if not may_change(viewer, image):
            raise PermissionDenied("only the owner can change or delete an image")
        return image


async def _pin(opener: Callable[[int, int | None], Awaitable[OpenBlob]]) -> OpenBlob:
    """The whole object, pinned now; `NotFound` (404) if it was deleted since its row was read."""
    return await opener(0, None)


async def _open_or_none(path: Path) -> BinaryIO | None:
    """Open for reading in a worker thread; None if the file is gone."""

    def opener() -> BinaryIO | None:
        try:
            return path.open("rb")
        except FileNotFoundError:
            return None

    return await to_thread.run_sync(opener)
