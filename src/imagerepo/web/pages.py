"""The gallery's pages: the timeline (and search), my images, an image, the upload page.

Thin, like the API's routes: find who is looking, call the image service, render. The first
page of a grid is rendered here; the page's script fetches the next ones from `/api/v1/images`
with the cursor the page carries.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from imagerepo.api.deps import services
from imagerepo.errors import ImageRepoError, NotFound
from imagerepo.policy import may_change
from imagerepo.services.versions import media_version
from imagerepo.web.render import Visitor, page, to_login, visitor
from imagerepo.web.tiles import PREVIEW_EDGE, by_month, details, fit, tile

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 60  # a few screens of thumbnails; the script asks for more as the end comes near
SIMILAR = 12


def _closed(request: Request, who: Visitor) -> bool:
    """True when this server shows nothing to visitors who are not signed in."""
    return who.user is None and not services(request).settings.anonymous_read


async def _grid(
    request: Request,
    who: Visitor,
    *,
    heading: str,
    owner: str | None,
    query: str | None,
    empty: str,
) -> Response:
    images = services(request).images
    error = None
    items, next_cursor = [], None
    try:
        listing = await images.list(who.viewer, owner=owner, keywords=query, limit=PAGE_SIZE)
        items, next_cursor = listing.items, listing.next_cursor
    except ImageRepoError as exc:
        error = exc.message
    api_params = {k: v for k, v in (("owner", owner), ("keywords", query)) if v}
    return page(
        request,
        "timeline.html",
        who,
        title=heading,
        heading=heading,
        query=query or "",
        search_action=request.url.path,
        months=by_month([tile(image, who.viewer) for image in items]),
        next_cursor=next_cursor or "",
        api_url="/api/v1/images?" + urlencode({**api_params, "limit": PAGE_SIZE}),
        empty=empty,
        error=error,
    )


@router.get("/", response_class=HTMLResponse)
async def timeline(
    request: Request, q: Annotated[str | None, Query(max_length=1000)] = None
) -> Response:
    who = await visitor(request)
    if _closed(request, who):
        return to_login(request)
    if q and q.strip():
        empty = f"Nothing you may see matches “{q.strip()}”. Try fewer or other words."
        heading = f"Search: {q.strip()}"
    elif who.user is not None:
        empty = "No photos here yet. Upload your first ones: they show up here, newest first."
        heading = "Timeline"
    else:
        empty = "No public photos yet. Sign in to upload some."
        heading = "Timeline"
    return await _grid(request, who, heading=heading, owner=None, query=q, empty=empty)


@router.get("/mine", response_class=HTMLResponse)
async def my_images(
    request: Request, q: Annotated[str | None, Query(max_length=1000)] = None
) -> Response:
    who = await visitor(request)
    if who.user is None:
        return to_login(request)
    empty = (
        f"None of your photos matches “{q.strip()}”."
        if q and q.strip()
        else "You have no photos yet. Upload some: drop files or whole folders on the upload page."
    )
    return await _grid(
        request, who, heading="My images", owner=who.user.username, query=q, empty=empty
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
