"""The JSON shapes the API reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from imagerepo.models import Image, SimilarImage, StoredState, User
from imagerepo.policy import Viewer, may_see_private_fields
from imagerepo.services.versions import media_version


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name
    expires_in: int = Field(description="Seconds until the token expires.")


class UserOut(BaseModel):
    id: str
    username: str
    is_admin: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id, username=user.username, is_admin=user.is_admin, created_at=user.created_at
        )


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(
        max_length=64,
        pattern=r"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$",
        description="Letters and digits; '.', '_' and '-' only between two of them; stored in"
        " lowercase. Refused (409) when it matches an existing name with case and separators"
        " ignored (`r.oot` next to `root`). `me` is reserved.",
    )
    password: str = Field(min_length=8, max_length=1024)
    is_admin: bool = False


class UserListItem(UserOut):
    image_count: int = Field(description="Images the user owns.")

    @classmethod
    def of_counted(cls, user: User, image_count: int) -> UserListItem:
        return cls(**UserOut.of(user).model_dump(), image_count=image_count)


class UserList(BaseModel):
    items: list[UserListItem]


class UserDeleted(BaseModel):
    username: str
    images_deleted: int = Field(description="Images deleted with the user.")


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=8, max_length=1024, description="The new password.")
    current_password: str | None = Field(
        None,
        max_length=1024,
        description="Required to change your own password; not needed by an admin for others.",
    )


class ImageOut(BaseModel):
    id: str
    owner: str
    title: str
    filename: str
    description: str
    visibility: Literal["public", "private"]
    sha256: str
    size: int
    media_type: str
    width: int
    height: int
    created_at: datetime
    taken_at: datetime | None = Field(None, description="When the photo was taken (EXIF).")
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="Camera, lens, exposure; location and serial numbers only for the owner.",
    )
    tags: list[str] = Field(default_factory=list, description="The owner's tags, as written.")
    thumbnail_url: str = Field(
        "", description="The thumbnail under a URL that changes with the bytes and visibility."
    )
    preview_url: str = Field("", description="The preview, versioned like `thumbnail_url`.")
    state: Literal["ready", "processing", "failed"] = Field(
        "ready",
        description="Derivative work after the upload: `processing` until a job has made the"
        " preview and full-size copy, `failed` after its last retry (both are then still made"
        " on request).",
    )

    @classmethod
    def of(cls, image: Image, viewer: Viewer) -> ImageOut:
        return cls(**image_fields(image, viewer))


def image_fields(image: Image, viewer: Viewer) -> dict[str, Any]:
    """`ImageOut`'s fields for `image` as `viewer` may see it: what `ImageOut.of` validates,
    and what the listing routes serialize directly (`api/fast_json.py`) without building and
    re-validating a model per item. A new field of `ImageOut` goes here."""
    version = media_version(image)
    return {
        "id": image.id,
        "owner": image.owner,
        "title": image.title,
        "filename": image.filename,
        "description": image.description,
        "visibility": image.visibility.value,
        "sha256": image.sha256,
        "size": image.size,
        "media_type": image.media_type,
        "width": image.width,
        "height": image.height,
        "created_at": image.created_at,
        "taken_at": image.taken_at,
        "metadata": image.metadata.as_dict(include_private=may_see_private_fields(viewer, image)),
        "tags": list(image.tags),
        "thumbnail_url": f"/api/v1/images/{image.id}/thumbnail?v={version}",
        "preview_url": f"/api/v1/images/{image.id}/preview?v={version}",
        "state": image.state.value,
    }


class NearDuplicate(BaseModel):
    id: str
    distance: int = Field(description="Hamming distance between perceptual hashes (0-64).")


class UploadOut(ImageOut):
    outcome: Literal["created", "updated", "unchanged"] = Field(
        description="`created` (201); for bytes you already had (200): `updated` when the"
        " visibility or description sent changed the image, else `unchanged`."
    )
    near_duplicates: list[NearDuplicate] = Field(
        default_factory=list, description="Your own images that look almost the same."
    )


class SimilarOut(ImageOut):
    distance: int

    @classmethod
    def of_similar(cls, found: SimilarImage, viewer: Viewer) -> SimilarOut:
        return cls(**ImageOut.of(found.image, viewer).model_dump(), distance=found.distance)


class SimilarPage(BaseModel):
    items: list[SimilarOut]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: list[Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{64}$")]] = Field(
        max_length=10_000, description="sha256 hex digests of local files."
    )


class StoredOut(BaseModel):
    id: str
    visibility: Literal["public", "private"]
    description: str

    @classmethod
    def of(cls, state: StoredState) -> StoredOut:
        return cls(id=state.id, visibility=state.visibility.value, description=state.description)


class CheckOut(BaseModel):
    existing: dict[str, str] = Field(description="Digests you already have → image id.")
    missing: list[str] = Field(description="Digests the server does not have for you.")
    images: dict[str, StoredOut] = Field(
        default_factory=dict,
        description="Digests you already have → id, visibility and description, so a sync"
        " can update only the images whose flags differ.",
    )


class ImagePage(BaseModel):
    items: list[ImageOut]
    next_cursor: str | None


class ImagePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(None, max_length=10_000)
    visibility: Literal["public", "private"] | None = None
    tags: list[Annotated[str, Field(max_length=1000)]] | None = Field(
        None, max_length=50, description="Replaces every tag."
    )
    add_tags: list[Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=list, max_length=50
    )
    remove_tags: list[Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=list, max_length=50, description="Case and accents do not matter."
    )


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"] = "ok"
