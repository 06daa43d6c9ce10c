"""Direct-to-bucket uploads (S3 storage only): ask for a presigned PUT, send the bytes to the
bucket, then confirm. On local storage both routes answer 409 (use POST /api/v1/images)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from imagerepo.api.deps import CurrentUser, services
from imagerepo.api.routes.images import ingested_response
from imagerepo.api.schemas import ErrorOut, UploadOut
from imagerepo.errors import Conflict
from imagerepo.services.direct_upload import NOT_AVAILABLE, DirectUploads
from imagerepo.services.images import parse_visibility

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 404, 409, 413, 415, 422)
}


class DirectUploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(max_length=1024)
    size: int = Field(ge=1, description="Bytes that will be sent.")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="Of the bytes that will be sent.")
    visibility: str | None = Field(None, description="`public` (default) or `private`.")
    description: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=100)


class DirectUploadOut(BaseModel):
    id: str
    url: str = Field(description="Send the bytes here, with `method` and `headers`.")
    method: str
    headers: dict[str, str]
    expires_at: datetime = Field(description="The URL works until then; confirm before it too.")


def direct_uploads(request: Request) -> DirectUploads:
    found = services(request).uploads
    if found is None:
        raise Conflict(NOT_AVAILABLE)
    return found


Uploads = Annotated[DirectUploads, Depends(direct_uploads)]


@router.post(
    "", response_model=DirectUploadOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS
)
async def start_upload(
    body: DirectUploadIn, user: CurrentUser, uploads: Uploads
) -> DirectUploadOut:
    """Announce a file (name, size, sha256, flags); answers where to PUT its bytes."""
    offer = await uploads.start(
        user,
        filename=body.filename,
        size=body.size,
        sha256=body.sha256,
        description=body.description,
        visibility=parse_visibility(body.visibility),
        tags=body.tags,
    )
    return DirectUploadOut(
        id=offer.id,
        url=offer.url,
        method=offer.method,
        headers=offer.headers,
        expires_at=offer.expires_at,
    )


@router.post(
    "/{upload_id}/confirm",
    response_model=UploadOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": UploadOut, "description": "Already stored"}, **_ERRORS},
)
async def confirm_upload(upload_id: str, user: CurrentUser, uploads: Uploads) -> JSONResponse:
    """The bytes are in the bucket: check their size and sha256, then record the image (201;
    200 when you already had these bytes, or for a second confirm of the same upload)."""
    return ingested_response(await uploads.confirm(user, upload_id), user)
