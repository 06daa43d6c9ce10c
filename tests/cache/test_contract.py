"""What every `Cache` promises, checked on MemoryCache and RedisCache alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from imagerepo.cache.base import Cache
from imagerepo.models import Image, Page, PhotoMetadata, StoredBlob, Visibility
from tests.cache.conftest import TTL

IMAGE = Image(
    id="i1",
    owner_id="u1",
    owner="ann",
    title="Beach",
    filename="beach.jpg",
    description="sand",
    visibility=Visibility.PRIVATE,
    sha256="ab" * 32,
    size=1234,
    media_type="image/jpeg",
    width=640,
    height=480,
    created_at=datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
    taken_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
    metadata=PhotoMetadata(camera_make="Canon", f_number=2.8, iso=200),
    phash=-(2**63) + 5,
)


async def test_domain_values_round_trip(cache: Cache) -> None:
    page = Page(items=[IMAGE])
    await cache.set("page", page)
    await cache.set("image", IMAGE)
    await cache.set("blobs", [StoredBlob("ab" * 32, 5), ("tuple", frozenset({1}))])
    assert await cache.get("page") == page
    got = await cache.get("image")
    assert got == IMAGE
    assert isinstance(got, Image) and got.visibility is Visibility.PRIVATE
    assert await cache.get("blobs") == [StoredBlob("ab" * 32, 5), ("tuple", frozenset({1}))]


async def test_missing_and_deleted_entries_miss(cache: Cache) -> None:
    assert await cache.get("nothing") is None
    await cache.set("a", 1)
    await cache.delete("a")
    await cache.delete("never-set")
    assert await cache.get("a") is None


async def test_generations_start_at_zero_and_only_grow(cache: Cache) -> None:
    assert await cache.generation("images") == 0
    assert await cache.bump("images") == 1
    assert await cache.bump("images") == 2
    assert await cache.generation("images") == 2
    assert await cache.generation("users") == 0  # namespaces are independent


async def test_concurrent_bumps_are_never_lost(cache: Cache) -> None:
    results = await asyncio.gather(*(cache.bump("n") for _ in range(20)))
    assert sorted(results) == list(range(1, 21))
    assert await cache.generation("n") == 20


async def test_a_bump_retires_entries_keyed_by_the_old_generation(cache: Cache) -> None:
    old = await cache.generation("g")
    await cache.set(f"image:{old}:i1", IMAGE)
    new = await cache.bump("g")
    assert new != old
    assert await cache.get(f"image:{await cache.generation('g')}:i1") is None


async def test_entries_expire_after_the_ttl(cache: Cache) -> None:
    await cache.set("short", "lived")
    await asyncio.sleep(TTL + 0.2)
    assert await cache.get("short") is None
