"""Images: upload, list, read, fetch the bytes, change and delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse

from imagerepo.api.deps import CurrentUser, CurrentViewer, Images
from imagerepo.api.fast_json import CheckedJSON, documented
from imagerepo.api.files import OpenFileResponse, blob_response
from imagerepo.api.multipart import read_staged_upload
from imagerepo.api.schemas import (
    CheckIn,
    CheckOut,
    ErrorOut,
    ImageOut,
    ImagePage,
    ImagePatch,
    NearDuplicate,
    SimilarPage,
    StoredOut,
    UploadOut,
    image_fields,
)
from imagerepo.api.search_params import Search
from imagerepo.models import Image, User, Visibility
from imagerepo.policy import Viewer
from imagerepo.services.images import (
    MAX_SIMILAR_DISTANCE,
    ImageFile,
    Ingested,
    parse_visibility,
)
from imagerepo.services.rendering import OutputFormat
from imagerepo.services.versions import media_version

router = APIRouter(prefix="/api/v1/images", tags=["images"])

_ERROR_CODES = (401, 403, 404, 413, 415, 422)
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in _ERROR_CODES}
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "description": {"type": "string"},
                        "visibility": {"type": "string", "enum": ["public", "private"]},
                        "tag": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    }
}


#: A year: the longest any cache keeps anything (RFC 9111 advises no more).
IMMUTABLE = "public, max-age=31536000, immutable"


def cache_headers(image: Image, etag: str, version: str | None = None) -> dict[str, str]:
    """Shared caches keep only public images. Under a URL whose `v` is the image's current media
    version (`services.versions`: it changes with the bytes and the visibility) a public image is
    kept a year; under any other URL an hour, so that making an image private takes effect
    everywhere within the hour. A private image only ever goes to the browser, briefly."""
    if image.visibility is Visibility.PRIVATE:
        scope = "private, max-age=300"
    elif version is not None and version == media_version(image):
        scope = IMMUTABLE
    else:
        scope = "public, max-age=3600"
    return {
        "Cache-Control": scope,
        "ETag": f'"{etag}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }


def not_modified(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    return if_none_match.strip() == "*" or f'"{etag}"' in {
        tag.strip().removeprefix("W/") for tag in if_none_match.split(",")
    }


@router.post(
    "",
    response_model=UploadOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ImageOut, "description": "Already stored"}, **_ERRORS},
    openapi_extra=_UPLOAD_BODY,
)
async def upload_image(request: Request, user: CurrentUser, images: Images) -> JSONResponse:
    """Multipart upload: a `file` part, optional `description`, `visibility` and `tag` fields
    (`tag` may be repeated).

    201 with the new image, or 200 with the existing one when this user already has these bytes
    (a `visibility` or `description` sent with them is applied: `outcome` says `updated`).
    """
    async with images.receive() as staged:
        form = await read_staged_upload(request, staged)
        ingested = await images.ingest(
            user,
            staged,
            filename=form.filename,
            description=form.fields.get("description"),
            visibility=parse_visibility(form.fields.get("visibility")),
            tags=form.tags,
        )
    return ingested_response(ingested, user)


def ingested_response(ingested: Ingested, user: User) -> JSONResponse:
    """201 with a new image, 200 with one this user already had (also for direct uploads)."""
    body = UploadOut(
        **ImageOut.of(ingested.image, Viewer.of(user)).model_dump(),
        outcome=ingested.outcome,
        near_duplicates=[
            NearDuplicate(id=image_id, distance=distance)
            for image_id, distance in ingested.near_duplicates
        ],
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if ingested.created else status.HTTP_200_OK,
    )


@router.post("/check", response_model=CheckOut, responses=_ERRORS)
async def check_digests(body: CheckIn, user: CurrentUser, images: Images) -> CheckOut:
    """Bulk sync: which of these digests you already have, so a client sends only the rest."""
    existing, missing = await images.check(user, body.sha256)
    return CheckOut(
        existing={digest: state.id for digest, state in existing.items()},
        missing=missing,
        images={digest: StoredOut.of(state) for digest, state in existing.items()},
    )


@router.get("", response_model=None, responses=documented(ImagePage, _ERROR_CODES))
async def list_images(viewer: CurrentViewer, images: Images, search: Search) -> CheckedJSON:
    """Every public image plus the caller's own private ones (anonymous callers: public images
    only), newest upload first unless `sort` says otherwise; `q` searches, the other
    parameters filter (all combine)."""
    page = await images.list(viewer, search)
    items = [image_fields(i, viewer) for i in page.items]
    return CheckedJSON({"items": items, "next_cursor": page.next_cursor})


@router.get("/{image_id}", response_model=ImageOut, responses=_ERRORS)
async def get_image(image_id: str, viewer: CurrentViewer, images: Images) -> ImageOut:
    return ImageOut.of(await images.get(viewer, image_id), viewer)


@router.get(
    "/{image_id}/similar", response_model=None, responses=documented(SimilarPage, _ERROR_CODES)
)
async def similar_images(
    image_id: str,
    viewer: CurrentViewer,
    images: Images,
    distance: Annotated[int, Query(ge=0, le=MAX_SIMILAR_DISTANCE)] = 8,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CheckedJSON:
    """Images you may see that look like this one (perceptual hash), nearest first."""
    found = await images.similar(viewer, image_id, distance=distance, limit=limit)
    items = [{**image_fields(f.image, viewer), "distance": f.distance} for f in found]
    return CheckedJSON({"items": items})


async def send_file(
    request: Request, found: ImageFile, if_none_match: str | None, version: str | None = None
) -> Response:
    """The bytes `found` names, with caching headers; 304 when the client has them already."""
    headers = cache_headers(found.image, found.etag, version)
    if not_modified(if_none_match, found.etag):
        if found.file is not None:
            found.file.close()
        if found.blob is not None:
            await found.blob.aclose()
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if found.file is not None:
        return OpenFileResponse(
            found.file,
            media_type=found.media_type,
            headers=headers,
            filename=found.filename,
            content_disposition_type="inline",
        )
    return await blob_response(
        found,
        headers=headers,
        range_header=request.headers.get("range"),
        head=request.method == "HEAD",
    )


_VERSION_HELP = (
    "The image's media version (as in `thumbnail_url`): with the current one, a public image's"
    " answer may be cached for a year."
)
_IMAGE_BYTES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/*": {}}},
    304: {"description": "Not modified"},
    **_ERRORS,
}


@router.get("/{image_id}/thumbnail", response_class=Response, responses=_IMAGE_BYTES)
async def get_thumbnail(
    request: Request,
    image_id: str,
    viewer: CurrentViewer,
    images: Images,
    format: Annotated[OutputFormat, Query()] = "webp",
    v: Annotated[str | None, Query(max_length=32, description=_VERSION_HELP)] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """About 256 px on the long side, upright, sRGB, without GPS or any other metadata."""
    found = await images.derivative(viewer, image_id, "thumbnail", format)
    return await send_file(request, found, if_none_match, v)


@router.get("/{image_id}/preview", response_class=Response, responses=_IMAGE_BYTES)
async def get_preview(
    request: Request,
    image_id: str,
    viewer: CurrentViewer,
    images: Images,
    format: Annotated[OutputFormat, Query()] = "webp",
    v: Annotated[str | None, Query(max_length=32, description=_VERSION_HELP)] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """About 1440 px on the long side, made on first request; same guarantees as the thumbnail."""
    found = await images.derivative(viewer, image_id, "preview", format)
    return await send_file(request, found, if_none_match, v)


@router.get(
    "/{image_id}/file",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}}, **_ERRORS},
)
async def get_image_file(
    request: Request,
    image_id: str,
    viewer: CurrentViewer,
    images: Images,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The original bytes for the owner; for anyone else the full picture without metadata."""
    return await send_file(request, await images.open_file(viewer, image_id), if_none_match)


@router.patch("/{image_id}", response_model=ImageOut, responses=_ERRORS)
async def update_image(
    image_id: str, body: ImagePatch, user: CurrentUser, images: Images
) -> ImageOut:
    updated = await images.update(
        Viewer.of(user),
        image_id,
        description=body.description,
        visibility=parse_visibility(body.visibility),
        tags=body.tags,
        add_tags=body.add_tags,
        remove_tags=body.remove_tags,
    )
    return ImageOut.of(updated, Viewer.of(user))


@router.delete("/{image_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_image(image_id: str, user: CurrentUser, images: Images) -> Response:
    await images.delete(Viewer.of(user), image_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
