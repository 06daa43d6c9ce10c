"""The gallery's pages in-process: who must sign in first, what a missing image answers, the
headers every page carries, and user text escaped."""

from __future__ import annotations

import httpx
import pytest

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
