"""The gallery's pages: the timeline (and search), my images, an image, the upload page.

Thin, like the API's routes: find who is looking, call the image service, render. The first
page of a grid is rendered here; the page's script fetches the next ones from `/api/v1/images`
with the cursor the page carries. Grids are the photo timeline: capture time, newest first
(upload time for undated photos), under the month the camera's clock said.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from imagerepo.api.deps import services
from imagerepo.errors import ImageRepoError, NotFound
from imagerepo.models import Filters, Sort
from imagerepo.policy import may_change
from imagerepo.services.search import SearchRequest
from imagerepo.services.versions import media_version
from imagerepo.web.render import Visitor, page, to_login, visitor
from imagerepo.web.tiles import PREVIEW_EDGE, by_month, details, fit, tile

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 60  # a few screens of thumbnails; the script asks for more as the end comes near
SIMILAR = 12
MONTHS = list(calendar.month_name)[1:]
Text = Annotated[str | None, Query(max_length=1000)]


@dataclass(frozen=True, slots=True)
class GridQuery:
    """What a grid shows, from the page's query string: a search (`q`, the API's query
    language) and filters, in the photo timeline's order (capture time, newest first)."""

    q: str = ""
    year: int | None = None
    month: int | None = None
    tag: str = ""

    @classmethod
    def parse(
        cls, q: str | None, year: str | None, month: str | None, tag: str | None
    ) -> GridQuery:
        """Blank or out-of-range fields (an empty form field sends "") are simply no filter."""
        return cls(
            q=(q or "").strip(),
            year=_number(year, 1, 9999),
            month=_number(month, 1, 12),
            tag=(tag or "").strip()[:100],
        )

    @property
    def active(self) -> bool:
        return bool(self.q or self.year or self.month or self.tag)

    def request(self, owner: str | None) -> SearchRequest:
        filters = Filters(
            owner=owner, year=self.year, month=self.month, tags=(self.tag,) if self.tag else ()
        )
        return SearchRequest(q=self.q or None, filters=filters, sort=Sort.TAKEN_AT, limit=PAGE_SIZE)

    def api_url(self, owner: str | None) -> str:
        """The same listing through the API, for the script that loads the next pages."""
        params = {
            "q": self.q,
            "owner": owner or "",
            "year": self.year or "",
            "month": self.month or "",
            "tag": self.tag,
        }
        kept = {k: v for k, v in params.items() if v}
        return "/api/v1/images?" + urlencode(
            {**kept, "sort": Sort.TAKEN_AT.value, "limit": PAGE_SIZE}
        )


def grid_query(
    q: Text = None, year: Text = None, month: Text = None, tag: Text = None
) -> GridQuery:
    """The grid's query string, shared by every page that shows a grid."""
    return GridQuery.parse(q, year, month, tag)


Grid = Annotated[GridQuery, Depends(grid_query)]


def _number(raw: str | None, low: int, high: int) -> int | None:
    value = (raw or "").strip()
    return int(value) if value.isdigit() and low <= int(value) <= high else None


def _closed(request: Request, who: Visitor) -> bool:
    """True when this server shows nothing to visitors who are not signed in."""
    return who.user is None and not services(request).settings.anonymous_read


async def _grid(
    request: Request,
    who: Visitor,
    grid: GridQuery,
    *,
    heading: str,
    owner: str | None,
    empty: str,
) -> Response:
    images = services(request).images
    error = None
    items, next_cursor = [], None
    try:
        listing = await images.list(who.viewer, grid.request(owner))
        items, next_cursor = listing.items, listing.next_cursor
    except ImageRepoError as exc:
        error = exc.message
    if grid.active:
        empty = "Nothing you may see matches this search. Try fewer words or other filters."
    return page(
        request,
        "timeline.html",
        who,
        title=heading,
        heading=heading,
        query=grid.q,
        grid=grid,
        month_names=MONTHS,
        search_action=request.url.path,
        months=by_month([tile(image, who.viewer) for image in items]),
        next_cursor=next_cursor or "",
        api_url=grid.api_url(owner),
        empty=empty,
        error=error,
    )


@router.get("/", response_class=HTMLResponse)
async def timeline(request: Request, grid: Grid) -> Response:
    who = await visitor(request)
    if _closed(request, who):
        return to_login(request)
    empty = (
        "No photos here yet. Upload your first ones: they show up here, newest first."
        if who.user is not None
        else "No public photos yet. Sign in to upload some."
    )
    heading = f"Search: {grid.q}" if grid.q else "Timeline"
    return await _grid(request, who, grid, heading=heading, owner=None, empty=empty)


@router.get("/mine", response_class=HTMLResponse)
async def my_images(request: Request, grid: Grid) -> Response:
    who = await visitor(request)
    if who.user is None:
        return to_login(request)
    empty = "You have no photos yet. Upload some: drop files or whole folders on the upload page."
    return await _grid(
        request, who, grid, heading="My images", owner=who.user.username, empty=empty
    )


@router.get("/images/{image_id}", response_class=HTMLResponse)
async def image_page(request: Request, image_id: str) -> Response:
    who = await visitor(request)
    if _closed(request, who):
        return to_login(request)
    images = services(request).images
    try:
        image = await images.get(who.viewer, image_id)
    except NotFound:
        return page(
            request,
            "message.html",
            who,
            status_code=404,
            title="Not found",
            message="There is no such image, or it is not yours to see.",
        )
    similar = await images.similar(who.viewer, image.id, distance=8, limit=SIMILAR)
    width, height = fit(image.width, image.height, PREVIEW_EDGE)
    version = media_version(image)
    return page(
        request,
        "image.html",
        who,
        title=image.title,
        image=image,
        preview_url=f"/api/v1/images/{image.id}/preview?v={version}",
        preview_width=width,
        preview_height=height,
        download_url=f"/api/v1/images/{image.id}/file",
        rows=details(image, who.viewer),
        mine=may_change(who.viewer, image),
        similar=[tile(found.image, who.viewer) for found in similar],
    )


@router.get("/upload", response_class=HTMLResponse)
async def upload_page(request: Request) -> Response:
    who = await visitor(request)
    if who.user is None:
        return to_login(request)
    limit = services(request).settings.max_upload_bytes
    return page(request, "upload.html", who, title="Upload", max_upload_bytes=limit)
