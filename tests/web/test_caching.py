"""Versioned thumbnail and preview URLs: cached a year by anyone while the image is public and
the URL names its current version; a new URL when the bytes or the visibility change; private
images only ever for the browser, briefly."""

from __future__ import annotations

import httpx

from tests.api.helpers import upload


async def test_public_thumbnails_under_their_version_are_immutable(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    image = await upload(http, alice)
    url = image["thumbnail_url"]
    assert url.startswith(f"/api/v1/images/{image['id']}/thumbnail?v=")
    answer = await http.get(url)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/webp"
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    preview = await http.get(image["preview_url"])
    assert preview.headers["cache-control"] == "public, max-age=31536000, immutable"
    # Any other version (an old URL, a guess) is cached as before: an hour.
    stale = await http.get(f"/api/v1/images/{image['id']}/thumbnail?v=000000000000")
    assert stale.headers["cache-control"] == "public, max-age=3600"
    plain = await http.get(f"/api/v1/images/{image['id']}/thumbnail")
    assert plain.headers["cache-control"] == "public, max-age=3600"


async def test_making_an_image_private_changes_its_urls_and_keeps_it_out_of_shared_caches(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    image = await upload(http, alice)
    changed = await http.patch(
        f"/api/v1/images/{image['id']}", json={"visibility": "private"}, headers=alice
    )
    private = changed.json()
    assert private["thumbnail_url"] != image["thumbnail_url"]
    assert private["preview_url"] != image["preview_url"]
    for url in (private["thumbnail_url"], image["thumbnail_url"]):
        answer = await http.get(url, headers=alice)
        assert answer.headers["cache-control"] == "private, max-age=300"
    assert (await http.get(private["thumbnail_url"])).status_code == 404  # anonymous


async def test_gallery_assets_are_kept_under_the_release_version(http: httpx.AsyncClient) -> None:
    page = await http.get("/")
    css = page.text.split('<link rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    assert css.startswith("/static/gallery/gallery.css?v=")
    answer = await http.get(css)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/css")
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["x-content-type-options"] == "nosniff"
    unversioned = await http.get("/static/gallery/js/timeline.js")
    assert unversioned.headers["cache-control"] == "no-cache"
    assert "javascript" in unversioned.headers["content-type"]
