"""The gallery's pages in-process: who must sign in first, what a missing image answers, the
headers every page carries, and user text escaped."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from PIL import Image as PILImage

from imagerepo.app import create_app
from imagerepo.config import Settings
from tests.api.helpers import upload
from tests.images import make_image


def assert_page_headers(answer: httpx.Response) -> None:
    assert answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "img-src 'self' blob: data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ):
        assert directive in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers["cache-control"].startswith("private")


@pytest.mark.parametrize("path", ["/", "/login", "/?q=anything"])
async def test_pages_carry_the_security_headers(http: httpx.AsyncClient, path: str) -> None:
    answer = await http.get(path)
    assert answer.status_code == 200
    assert_page_headers(answer)


@pytest.mark.parametrize("path", ["/upload", "/mine"])
async def test_pages_for_your_own_images_ask_you_to_sign_in(
    http: httpx.AsyncClient, path: str
) -> None:
    answer = await http.get(path)
    assert answer.status_code == 303 and answer.headers["location"] == f"/login?next={path}"


async def test_a_missing_or_hidden_image_is_a_404_page(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    hidden = await upload(http, alice, visibility="private")
    for image_id in ("no-such-image", hidden["id"]):
        answer = await http.get(f"/images/{image_id}")
        assert answer.status_code == 404 and "There is no such image" in answer.text
        assert_page_headers(answer)


async def test_user_text_is_escaped(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    image = await upload(
        http,
        alice,
        make_image(seed=9),
        name="<img src=x onerror=alert(1)>.jpg",
        description='"><script>alert(2)</script>',
    )
    page = (await http.get(f"/images/{image['id']}")).text
    assert "<script>alert(2)" not in page and "&lt;script&gt;alert(2)" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    grid = (await http.get("/")).text
    assert "<img src=x" not in grid


async def test_a_query_that_cannot_run_is_said_on_the_page(http: httpx.AsyncClient) -> None:
    answer = await http.get("/", params={"q": "\x00"})
    assert answer.status_code == 200 and 'class="error"' in answer.text


async def test_a_closed_server_sends_visitors_to_sign_in(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"anonymous_read": False}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        answer = await client.get("/images/abc")
        assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/images/abc"
        assert (await client.get("/login")).status_code == 200


def dated_photo(taken: str, seed: int) -> bytes:
    """A JPEG whose EXIF says it was taken at `taken` ("YYYY:MM:DD HH:MM:SS")."""
    picture = PILImage.open(io.BytesIO(make_image(seed=seed)))
    exif = picture.getexif()
    exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal
    out = io.BytesIO()
    picture.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def titles_by_month(html: str) -> list[tuple[str, list[str]]]:
    months = []
    for section in html.split('<section class="month"')[1:]:
        heading = section.split("<h2>", 1)[1].split("</h2>", 1)[0]
        months.append((heading, re.findall(r'data-title="([^"]*)"', section)))
    return months


async def test_grids_follow_capture_time_by_the_cameras_month_and_filter(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    await upload(http, alice, dated_photo("2019:07:04 10:00:00", 1), name="fireworks.jpg")
    await upload(http, alice, make_image(seed=2), name="today.jpg")
    await upload(http, alice, dated_photo("2021:12:31 23:30:00", 3), name="new-year.jpg")
    page = (await http.get("/")).text
    assert titles_by_month(page)[1:] == [
        ("December 2021", ["new-year"]),
        ("July 2019", ["fireworks"]),
    ]
    assert titles_by_month(page)[0][1] == ["today"]
    api = page.split('data-api="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "sort=taken_at" in api
    listing = (await http.get(api)).json()
    assert [item["title"] for item in listing["items"]] == ["today", "new-year", "fireworks"]
    filtered = (await http.get("/", params={"year": "2019", "month": "", "tag": ""})).text
    assert titles_by_month(filtered) == [("July 2019", ["fireworks"])]
    assert 'data-api="/api/v1/images?year=2019&amp;sort=taken_at' in filtered
    nothing = (await http.get("/", params={"year": "1999"})).text
    assert "Nothing you may see matches this search" in nothing
