"""Search beyond the image listing: timeline buckets, and images like a file you send."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from imagerepo.api.deps import CurrentUser, CurrentViewer, Images
from imagerepo.api.multipart import read_staged_upload
from imagerepo.api.schemas import ErrorOut, SimilarOut, SimilarPage
from imagerepo.api.search_params import Search
from imagerepo.errors import ValidationFailed
from imagerepo.policy import Viewer
from imagerepo.services.images import MAX_SIMILAR_DISTANCE

router = APIRouter(prefix="/api/v1", tags=["search"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 422)}


class MonthOut(BaseModel):
    month: str = Field(description="YYYY-MM of the camera's local time (upload time if undated).")
    count: int


class TimelineOut(BaseModel):
    months: list[MonthOut]


@router.get("/timeline", response_model=TimelineOut, responses=_ERRORS)
async def timeline(viewer: CurrentViewer, images: Images, search: Search) -> TimelineOut:
    """How many images you may see per month, newest month first; takes the listing's `q` and
    filters (`sort`, `limit` and `cursor` are ignored)."""
    counts = await images.timeline(viewer, search)
    return TimelineOut(months=[MonthOut(month=c.month, count=c.count) for c in counts])


_BY_IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/search/by-image",
    response_model=SimilarPage,
    responses={code: {"model": ErrorOut} for code in (401, 413, 415, 422)},
    openapi_extra=_BY_IMAGE_BODY,
)
async def search_by_image(
    request: Request,
    user: CurrentUser,
    images: Images,
    distance: Annotated[int, Query(ge=0, le=MAX_SIMILAR_DISTANCE)] = 8,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SimilarPage:
    """Images you may see that look like the `file` sent (perceptual hash), nearest first.
    The file is read with the upload limits and not stored."""
    async with images.receive() as staged:
        form = await read_staged_upload(request, staged)
        if not form.has_file:
            raise ValidationFailed("send the image as a 'file' part")
        found = await images.similar_to_file(user, staged, distance=distance, limit=limit)
    viewer = Viewer.of(user)
    return SimilarPage(items=[SimilarOut.of_similar(f, viewer) for f in found])
