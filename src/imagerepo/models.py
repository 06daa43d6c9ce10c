"""Domain types: plain data shared by every layer, with no I/O and no framework imports."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class ImageState(enum.StrEnum):
    """Where an image's derivative work stands (`services.processing`): a new upload is
    `processing` until a job has made its preview and full-size copy, then `ready`; `failed`
    once every retry has failed (derivatives are still made on request)."""

    READY = "ready"
    PROCESSING = "processing"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    is_admin: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UserCredentials:
    """A user with the hash that proves them; only the auth service sees this."""

    user: User
    password_hash: str


#: Fields only the owner sees: where a photo was taken and what identifies the camera.
PRIVATE_FIELDS = frozenset(
    {"gps_latitude", "gps_longitude", "gps_altitude", "body_serial", "lens_serial"}
)


@dataclass(frozen=True, slots=True)
class PhotoMetadata:
    taken_at: datetime | None = None  # aware; UTC when the file gave no offset
    taken_at_local: str | None = None  # the camera's wall-clock time, as written
    taken_at_offset: str | None = None  # "+01:00" when the file says
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    exposure_time: float | None = None  # seconds
    f_number: float | None = None
    iso: int | None = None
    focal_length: float | None = None  # mm
    focal_length_35mm: int | None = None
    orientation: int | None = None
    software: str | None = None
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    gps_altitude: float | None = None
    body_serial: str | None = None
    lens_serial: str | None = None

    def as_dict(self, *, include_private: bool) -> dict[str, Any]:
        """JSON-ready, without empty fields; without location and serials unless asked.

        Every value is a scalar, so fields are read directly: `dataclasses.asdict` deep-copies,
        and was 38 % of a listing's endpoint time (pyinstrument, 50 items a page)."""
        out: dict[str, Any] = {}
        for name in _METADATA_FIELDS:
            value = getattr(self, name)
            if value is None or (name in PRIVATE_FIELDS and not include_private):
                continue
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhotoMetadata:
        values = {k: v for k, v in data.items() if k in _METADATA_FIELD_SET}
        if isinstance(values.get("taken_at"), str):
            values["taken_at"] = datetime.fromisoformat(values["taken_at"])
        return cls(**values)


_METADATA_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PhotoMetadata))
_METADATA_FIELD_SET = frozenset(_METADATA_FIELDS)


@dataclass(frozen=True, slots=True)
class Image:
    id: str
    owner_id: str
    owner: str
    title: str
    filename: str
    description: str
    visibility: Visibility
    sha256: str
    size: int
    media_type: str
    width: int
    height: int
    created_at: datetime
    taken_at: datetime | None = None
    metadata: PhotoMetadata = field(default_factory=PhotoMetadata)
    phash: int | None = None
    tags: tuple[str, ...] = ()
    state: ImageState = ImageState.READY


@dataclass(frozen=True, slots=True)
class Scope:
    """Which images a viewer may see, as data the database layer turns into its WHERE clause:
    every public image when `public`, plus every image (public or private) of `owner_ids`.

    Built only by `imagerepo.policy.scope_of`; nothing else decides visibility.
    """

    public: bool
    owner_ids: frozenset[str] = frozenset()

    def admits(self, image: Image) -> bool:
        return (self.public and image.visibility is Visibility.PUBLIC) or (
            image.owner_id in self.owner_ids
        )


class Sort(enum.StrEnum):
    """Listing orders, all descending: newest upload, newest photo, largest file, best match."""

    UPLOADED_AT = "uploaded_at"
    TAKEN_AT = "taken_at"  # capture time; undated photos fall back to upload time
    SIZE = "size"
    RELEVANCE = "relevance"  # text queries only


@dataclass(frozen=True, slots=True)
class Term:
    """One thing to look for: a word (`phrase` False) or a quoted phrase; `prefix` for `cat*`."""

    text: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class TextQuery:
    """A parsed `q`: every group must match (AND), a group matches if any of its terms does
    (OR), and no row may match an excluded term."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()


@dataclass(frozen=True, slots=True)
class Filters:
    """Field filters of a listing; None means "any" (`services.search.clean_filters` cleans
    the text ones)."""

    owner: str | None = None  # username, lower-cased
    visibility: Visibility | None = None
    media_type: str | None = None
    taken_after: datetime | None = None
    taken_before: datetime | None = None
    uploaded_after: datetime | None = None
    uploaded_before: datetime | None = None
    year: int | None = None  # of the photo's local capture month (upload month if undated)
    month: int | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    min_width: int | None = None
    max_width: int | None = None
    min_height: int | None = None
    max_height: int | None = None
    has_gps: bool | None = None  # a private field: only ever applied to the viewer's own images
    tags: tuple[str, ...] = ()  # all required; folded once cleaned


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the last item's sort value (None for upload order; a datetime, a
    size or a relevance score otherwise), its upload time and its id."""

    value: datetime | int | float | None
    created_at: datetime
    id: str


@dataclass(frozen=True, slots=True)
class ImageQuery:
    """A listing request, already bound to the scope of the viewer it is evaluated for.

    `keywords` are folded words each of which the title or description must contain;
    `text` is the parsed full-text query.
    """

    scope: Scope
    filters: Filters = field(default_factory=Filters)
    keywords: tuple[str, ...] = ()
    text: TextQuery | None = None
    sort: Sort = Sort.UPLOADED_AT
    limit: int = 50
    after: Position | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Image] = field(default_factory=list)
    next_after: Position | None = None


@dataclass(frozen=True, slots=True)
class MonthCount:
    month: str  # "YYYY-MM"
    count: int


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What decoding an upload told us about it (size as displayed, after EXIF orientation)."""

    media_type: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the one ingest decode produces."""

    info: ImageInfo
    metadata: PhotoMetadata
    thumbnail: bytes  # WebP, orientation applied, sRGB, no metadata
    phash: int | None  # signed 64-bit perceptual hash


@dataclass(frozen=True, slots=True)
class SimilarImage:
    image: Image
    distance: int


@dataclass(frozen=True, slots=True)
class StoredState:
    """What bulk sync needs to know of an image the owner already has."""

    id: str
    visibility: Visibility
    description: str


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int


# --- Direct-to-bucket uploads (issue 10; services/direct_upload.py) ---


@dataclass(frozen=True, slots=True)
class DirectUpload:
    """A presigned PUT offered to `owner_id`: the bytes it promised and what to record."""

    id: str
    owner_id: str
    size: int
    sha256: str
    filename: str
    description: str | None
    visibility: Visibility | None
    tags: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    image_id: str | None = None  # once confirmed
