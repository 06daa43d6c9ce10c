"""A write retires only the cached answers it can change (`services.image_cache`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from imagerepo.cache.memory import MemoryCache
from imagerepo.config import Settings
from imagerepo.wiring import build_services
from tests.api.helpers import client_of, upload
from tests.images import make_image


class CountingCache(MemoryCache):
    """Counts listing lookups answered from the cache."""

    def __init__(self) -> None:
        super().__init__(max_entries=1000, ttl_seconds=600)
        self.listing_hits = 0

    async def get(self, key: str) -> object | None:
        found = await super().get(key)
        if found is not None and key.startswith("list:"):
            self.listing_hits += 1
        return found


@pytest.fixture
def cache() -> CountingCache:
    return CountingCache()


@pytest.fixture
async def http(settings: Settings, cache: CountingCache) -> AsyncIterator[httpx.AsyncClient]:
    # No job workers: an image turning `ready` is a write too, and would retire listings at
    # moments this test does not choose.
    async with (
        build_services(settings, cache=cache, run_jobs=False) as services,
        client_of(services) as client,
    ):
        yield client


async def test_a_write_refreshes_only_the_listings_it_can_change(
    http: httpx.AsyncClient,
    alice: dict[str, str],
    bob: dict[str, str],
    cache: CountingCache,
) -> None:
    mine = await upload(http, alice, make_image(seed=1), visibility="private")

    async def listed(headers: dict[str, str]) -> tuple[list[str], bool]:
        """The ids listed, and whether the answer came from the cache."""
        before = cache.listing_hits
        answer = await http.get("/api/v1/images", headers=headers)
        return [i["id"] for i in answer.json()["items"]], cache.listing_hits > before

    assert await listed(alice) == ([mine["id"]], False)
    assert await listed(alice) == ([mine["id"]], True)
    assert (await listed({}))[1] is False

    # Bob's private upload cannot change Alice's listing nor the anonymous one: both stay.
    bobs_secret = await upload(http, bob, make_image(seed=2), visibility="private")
    assert await listed(alice) == ([mine["id"]], True)
    assert await listed({}) == ([], True)
    assert (await listed(bob)) == ([bobs_secret["id"]], False)

    # Alice's own private write refreshes her listing, and leaves Bob's and the anonymous one.
    answer = await http.patch(
        f"/api/v1/images/{mine['id']}", json={"description": "x"}, headers=alice
    )
    assert answer.status_code == 200
    assert await listed(alice) == ([mine["id"]], False)
    assert await listed(bob) == ([bobs_secret["id"]], True)
    assert await listed({}) == ([], True)

    # Making it public changes what everybody sees.
    answer = await http.patch(
        f"/api/v1/images/{mine['id']}", json={"visibility": "public"}, headers=alice
    )
    assert answer.status_code == 200
    assert await listed({}) == ([mine["id"]], False)
    assert await listed(bob) == ([bobs_secret["id"], mine["id"]], False)

    # A public upload, and a delete, too.
    shown = await upload(http, bob, make_image(seed=3))
    assert await listed(alice) == ([shown["id"], mine["id"]], False)
    assert (await http.delete(f"/api/v1/images/{shown['id']}", headers=bob)).status_code == 204
    assert await listed(alice) == ([mine["id"]], False)
    assert await listed({}) == ([mine["id"]], False)
    assert await listed({}) == ([mine["id"]], True)

    # Back to private: gone for others at once, and the image itself is not served stale.
    answer = await http.patch(
        f"/api/v1/images/{mine['id']}", json={"visibility": "private"}, headers=alice
    )
    assert await listed({}) == ([], False)
    assert (await http.get(f"/api/v1/images/{mine['id']}", headers=bob)).status_code == 404
