"""Images: upload, list, read, fetch the bytes, change and delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from imagerepo.api.deps import CurrentUser, Images
from imagerepo.api.multipart import read_upload
from imagerepo.api.schemas import ErrorOut, ImageOut, ImagePage, ImagePatch
from imagerepo.errors import PayloadTooLarge
from imagerepo.services.images import parse_visibility

router = APIRouter(prefix="/api/v1/images", tags=["images"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 413, 415, 422)
}
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
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    response_model=ImageOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ImageOut, "description": "Already stored"}, **_ERRORS},
    openapi_extra=_UPLOAD_BODY,
)
async def upload_image(request: Request, user: CurrentUser, images: Images) -> JSONResponse:
    """Multipart upload: a `file` part, optional `description` and `visibility` fields.

    201 with the new image, or 200 with the existing one when this user already has these bytes.
    """
    declared = request.headers.get("content-length")
    async with images.receive() as staged:
        if declared and declared.isdigit() and int(declared) > staged.max_bytes + 64 * 1024:
            raise PayloadTooLarge(f"upload is larger than the limit of {staged.max_bytes} bytes")
        form = await read_upload(
            request.headers.get("content-type"), request.stream(), staged.write
        )
        image, created = await images.ingest(
            user,
            staged,
            filename=form.filename,
            description=form.fields.get("description"),
            visibility=parse_visibility(form.fields.get("visibility")),
        )
    return JSONResponse(
        ImageOut.of(image).model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@router.get("", response_model=ImagePage, responses=_ERRORS)
async def list_images(
    user: CurrentUser,
    images: Images,
    owner: Annotated[str | None, Query(max_length=64)] = None,
    keywords: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ImagePage:
    """Newest first: every public image plus the caller's own private ones."""
    page = await images.list(user, owner=owner, keywords=keywords, limit=limit, cursor=cursor)
    return ImagePage(items=[ImageOut.of(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/{image_id}", response_model=ImageOut, responses=_ERRORS)
async def get_image(image_id: str, user: CurrentUser, images: Images) -> ImageOut:
    return ImageOut.of(await images.get(user, image_id))


@router.get(
    "/{image_id}/file",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}}, **_ERRORS},
)
async def get_image_file(image_id: str, user: CurrentUser, images: Images) -> Response:
    found = await images.open_file(user, image_id)
    image = found.image
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600"
        if image.visibility == "private"
        else "max-age=3600",
        "ETag": f'"{image.sha256}"',
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if found.path is not None:
        return FileResponse(
            found.path,
            media_type=image.media_type,
            headers=headers,
            filename=image.filename,
            content_disposition_type="inline",
        )
    assert found.stream is not None
    return StreamingResponse(found.stream, media_type=image.media_type, headers=headers)


@router.patch("/{image_id}", response_model=ImageOut, responses=_ERRORS)
async def update_image(
    image_id: str, body: ImagePatch, user: CurrentUser, images: Images
) -> ImageOut:
    updated = await images.update(
        user,
        image_id,
        description=body.description,
        visibility=parse_visibility(body.visibility),
    )
    return ImageOut.of(updated)


@router.delete("/{image_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_image(image_id: str, user: CurrentUser, images: Images) -> Response:
    await images.delete(user, image_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
