"""Direct-to-bucket upload: the client sends the bytes straight to S3, not through the API.

1. `start`: the owner says what is coming (name, size, sha256, flags); within the limits, a
   `direct_uploads` row is recorded and a presigned PUT to `incoming/<id>` is returned (valid
   `ttl`). The id is 32 random bytes, and the row names its owner: nobody else can confirm it.
2. The client PUTs the bytes to the URL.
3. `confirm`: the server checks the object's size, streams it into staging (hashing it) and
   checks the digest, then runs the normal ingest on the staged file (decode, metadata,
   thumbnail, claim, row); the original goes into place by a server-side copy. The incoming
   object is deleted and the row keeps the image id, so a second confirm answers the same
   image. A wrong size or digest, or bytes that are no image: 422, and the object and the row
   are gone.
4. `expire` (the collector): rows past `expires_at` and their objects are removed, confirmed
   or not.

The confirm still reads the bytes once, from the bucket, to verify and decode them: the
upload's body never crosses the API, but the check does (inside the data centre).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from imagerepo.errors import (
    Conflict,
    ImageRepoError,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from imagerepo.models import DirectUpload, User, Visibility
from imagerepo.policy import Viewer
from imagerepo.services.clock import Clock
from imagerepo.services.images import (
    ImageService,
    Ingested,
    check_description,
    clean_filename,
)
from imagerepo.services.search import clean_tags
from imagerepo.storage.base import BlobInfo

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_BATCH = 500
NOT_AVAILABLE = (
    "direct upload needs S3 storage (IMAGEREPO_STORAGE_URL=s3://...); send the file to"
    " POST /api/v1/images instead"
)


class IncomingStore(Protocol):
    """Objects clients PUT to (`storage/s3_incoming.py`)."""

    async def presign_put(self, name: str, expires_in: timedelta) -> str: ...
    async def stat(self, name: str) -> BlobInfo: ...
    def read(self, name: str) -> AsyncIterator[bytes]: ...
    async def copy_to_original(self, name: str, sha256: str) -> None: ...
    async def delete(self, name: str) -> None: ...


class DirectUploadStore(Protocol):
    """The `direct_uploads` table (`db/repos/direct_uploads.py`)."""

    async def add(self, upload: DirectUpload) -> None: ...
    async def get(self, upload_id: str) -> DirectUpload | None: ...
    async def confirmed(self, upload_id: str, image_id: str) -> None: ...
    async def delete(self, upload_id: str) -> None: ...
    async def expired(self, now: datetime, limit: int) -> list[DirectUpload]: ...


@dataclass(frozen=True, slots=True)
class Offer:
    """Where and how the client sends the bytes."""

    id: str
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


class DirectUploads:
    def __init__(
        self,
        uploads: DirectUploadStore,
        incoming: IncomingStore | None,
        images: ImageService,
        clock: Clock,
        *,
        max_upload_bytes: int,
        ttl: timedelta = timedelta(minutes=15),
    ) -> None:
        self._uploads = uploads
        self._incoming = incoming
        self._images = images
        self._clock = clock
        self._max_upload_bytes = max_upload_bytes
        self._ttl = ttl

    @property
    def available(self) -> bool:
        return self._incoming is not None

    def _store(self) -> IncomingStore:
        if self._incoming is None:
            raise Conflict(NOT_AVAILABLE)
        return self._incoming

    async def start(
        self,
        owner: User,
        *,
        filename: str | None,
        size: int,
        sha256: str,
        description: str | None = None,
        visibility: Visibility | None = None,
        tags: Sequence[str] = (),
    ) -> Offer:
        """Record what is coming and return a presigned PUT for it."""
        incoming = self._store()
        if size > self._max_upload_bytes:
            raise PayloadTooLarge(
                f"upload is larger than the limit of {self._max_upload_bytes} bytes"
            )
        if size < 1:
            raise ValidationFailed("size is the number of bytes to send (at least 1)")
        sha256 = sha256.lower()
        if not _DIGEST.match(sha256):
            raise ValidationFailed("sha256 is a hex digest (64 characters)")
        now = self._clock()
        upload = DirectUpload(
            id=secrets.token_urlsafe(32),
            owner_id=owner.id,
            size=size,
            sha256=sha256,
            filename=clean_filename(filename),
            description=check_description(description),
            visibility=visibility,
            tags=clean_tags(tuple(tags)),
            created_at=now,
            expires_at=now + self._ttl,
        )
        url = await incoming.presign_put(upload.id, self._ttl)
        await self._uploads.add(upload)
        return Offer(upload.id, url, "PUT", {}, upload.expires_at)

    async def confirm(self, owner: User, upload_id: str) -> Ingested:
        """Verify the uploaded object and record the image (see the module docstring)."""
        incoming = self._store()
        upload = await self._uploads.get(upload_id)
        if upload is None or upload.owner_id != owner.id:
            raise NotFound("no such upload")
        if upload.image_id is not None:
            image = await self._images.get(Viewer.of(owner), upload.image_id)
            return Ingested(image, outcome="unchanged", near_duplicates=[])
        if upload.expires_at <= self._clock():
            raise NotFound("this upload has expired; start a new one")
        try:
            info = await incoming.stat(upload.id)
        except NotFound as exc:
            raise Conflict("the bytes have not arrived: PUT them to the URL first") from exc
        try:
            ingested = await self._verify_and_ingest(owner, upload, info)
        except ImageRepoError as exc:
            if exc.status in (413, 415, 422):  # the bytes are wrong: nothing is kept
                await incoming.delete(upload.id)
                await self._uploads.delete(upload.id)
            raise
        await self._uploads.confirmed(upload.id, ingested.image.id)
        await incoming.delete(upload.id)
        return ingested

    async def _verify_and_ingest(
        self, owner: User, upload: DirectUpload, info: BlobInfo
    ) -> Ingested:
        incoming = self._store()
        if info.size != upload.size:
            raise ValidationFailed(
                f"the object has {info.size} bytes, not the {upload.size} announced"
            )
        async with self._images.receive() as staged:
            async for chunk in incoming.read(upload.id):
                await staged.write(chunk)
            if await staged.finish() != upload.sha256:
                raise ValidationFailed("the object's sha256 is not the one announced")

            async def copy_in_bucket(sha256: str, _path: Path) -> None:
                await incoming.copy_to_original(upload.id, sha256)

            return await self._images.ingest(
                owner,
                staged,
                filename=upload.filename,
                description=upload.description,
                visibility=upload.visibility,
                tags=upload.tags,
                store_original=copy_in_bucket,
            )

    async def expire(self) -> int:
        """Remove uploads past their expiry, and their objects; how many."""
        if self._incoming is None:
            return 0
        removed = 0
        while expired := await self._uploads.expired(self._clock(), _BATCH):
            for upload in expired:
                await self._incoming.delete(upload.id)
                await self._uploads.delete(upload.id)
            removed += len(expired)
        return removed
