"""The shapes of the server's JSON answers, as the client sees them.

Images and users stay plain dicts (typed with `TypedDict`) so `--json` can print exactly what the
server sent; only the answers the client itself acts on get a small dataclass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict, cast

Visibility = Literal["public", "private"]


class PhotoMetadataJSON(TypedDict, total=False):
    """What the server read from the file (EXIF); a field is absent when the file did not say.

    The location and the serial numbers are sent to the owner only.
    """

    taken_at: str  # ISO 8601, aware
    taken_at_local: str  # the camera's wall-clock time, as written
    taken_at_offset: str  # "+01:00"
    camera_make: str
    camera_model: str
    lens: str
    exposure_time: float  # seconds
    f_number: float
    iso: int
    focal_length: float  # mm
    focal_length_35mm: int
    orientation: int
    software: str
    gps_latitude: float
    gps_longitude: float
    gps_altitude: float  # metres
    body_serial: str
    lens_serial: str


class ImageJSON(TypedDict):
    id: str
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
    created_at: str
    # Not required: servers before photo metadata do not send them.
    taken_at: NotRequired[str | None]
    metadata: NotRequired[PhotoMetadataJSON]
    tags: NotRequired[list[str]]
    state: NotRequired[str]  # ready, processing or failed (servers since job workers)
    distance: NotRequired[int]  # similar-image answers only


#: Listing parameters beyond owner, keywords, limit and cursor: `q`, `sort`, filters (`tag` a list).
SearchParams = Mapping[str, str | int | list[str]]


class NearDuplicateJSON(TypedDict):
    """One of the uploader's own images that looks almost the same (perceptual hash)."""

    id: str
    distance: int  # Hamming distance, 0-64


class UserJSON(TypedDict):
    id: str
    username: str
    is_admin: bool
    created_at: str


class UserListItemJSON(UserJSON):
    image_count: int  # images the user owns


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """An access token and how long the server says it lives."""

    access_token: str
    token_type: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class ImagePage:
    """One page of a listing; `next_cursor` is None on the last page."""

    items: list[ImageJSON]
    next_cursor: str | None


Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class UploadResult:
    """The answer to one upload. `outcome`: `created` (201), or for bytes the user already had
    (200) `updated` when the visibility or description sent changed the image, else `unchanged`;
    `near_duplicates` are the user's images that look almost the same."""

    outcome: Outcome
    image: ImageJSON
    near_duplicates: list[NearDuplicateJSON] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.outcome == "created"


def upload_result(status_code: int, body: dict[str, Any]) -> UploadResult:
    """An upload's (or a direct upload's confirm's) answer; `body` is consumed."""
    near = body.pop("near_duplicates", None)
    near_duplicates = [
        cast(NearDuplicateJSON, n)
        for n in (near if isinstance(near, list) else [])
        if isinstance(n, dict) and isinstance(n.get("id"), str)
    ]
    outcome = body.pop("outcome", None)
    if outcome not in ("created", "updated", "unchanged"):  # a server before outcomes
        outcome = "created" if status_code == 201 else "unchanged"
    return UploadResult(
        outcome=outcome, image=cast(ImageJSON, body), near_duplicates=near_duplicates
    )


class StoredImageJSON(TypedDict):
    """What `/images/check` says about an image the caller already has."""

    id: str
    visibility: Visibility
    description: str


@dataclass(frozen=True, slots=True)
class DigestCheck:
    """The answer to `/images/check`: digests the caller already has (→ image id), and the rest.

    `images` has the stored visibility and description of the existing ones (empty from a server
    older than that field: then they are unknown).
    """

    existing: dict[str, str]
    missing: list[str]
    images: dict[str, StoredImageJSON] = field(default_factory=dict)


def is_stored_images(value: object) -> bool:
    """Is this the `images` field of a digest check: digest → {id, visibility, description}?"""
    return isinstance(value, dict) and all(
        isinstance(k, str)
        and isinstance(v, dict)
        and isinstance(v.get("id"), str)
        and v.get("visibility") in ("public", "private")
        and isinstance(v.get("description"), str)
        for k, v in value.items()
    )
