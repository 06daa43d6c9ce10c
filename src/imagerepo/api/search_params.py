"""The query parameters of listings and the timeline, parsed into a `SearchRequest`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query

from imagerepo.models import Filters, Sort, Visibility
from imagerepo.services.search import SearchRequest

_Text = Annotated[str | None, Query(max_length=255)]
_Size = Annotated[int | None, Query(ge=0, le=1_000_000)]
_Q_HELP = (
    'Full text over title, file name, description, tags, camera and lens: words (AND), "a'
    ' phrase", prefix*, a OR b, -excluded. Stemmed; case and accents ignored.'
)


async def search_request(
    q: Annotated[str | None, Query(max_length=1000, description=_Q_HELP)] = None,
    keywords: Annotated[
        str | None,
        Query(max_length=1000, description="Each word inside the title or description."),
    ] = None,
    owner: Annotated[str | None, Query(max_length=64)] = None,
    visibility: Annotated[Visibility | None, Query()] = None,
    media_type: _Text = None,
    taken_after: Annotated[datetime | None, Query()] = None,
    taken_before: Annotated[datetime | None, Query()] = None,
    uploaded_after: Annotated[datetime | None, Query()] = None,
    uploaded_before: Annotated[datetime | None, Query()] = None,
    year: Annotated[int | None, Query(ge=1, le=9999)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
    camera_make: _Text = None,
    camera_model: _Text = None,
    lens: _Text = None,
    min_width: _Size = None,
    max_width: _Size = None,
    min_height: _Size = None,
    max_height: _Size = None,
    has_gps: Annotated[
        bool | None, Query(description="Only ever among your own images (location is private).")
    ] = None,
    tag: Annotated[list[str] | None, Query(max_length=50)] = None,
    sort: Annotated[Sort, Query()] = Sort.UPLOADED_AT,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> SearchRequest:
    """Never waits; `async` so that FastAPI calls it in place, not in its thread pool."""
    filters = Filters(
        owner=owner,
        visibility=visibility,
        media_type=media_type,
        taken_after=taken_after,
        taken_before=taken_before,
        uploaded_after=uploaded_after,
        uploaded_before=uploaded_before,
        year=year,
        month=month,
        camera_make=camera_make,
        camera_model=camera_model,
        lens=lens,
        min_width=min_width,
        max_width=max_width,
        min_height=min_height,
        max_height=max_height,
        has_gps=has_gps,
        tags=tuple(tag or ()),
    )
    return SearchRequest(
        q=q, keywords=keywords, filters=filters, sort=sort, limit=limit, cursor=cursor
    )


Search = Annotated[SearchRequest, Depends(search_request)]
