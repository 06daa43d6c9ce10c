"""`Locks`: in-process StripedLocks and RedisLocks under one contract, plus Redis specifics."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from imagerepo.cache.redis import connect
from imagerepo.cache.redis_locks import RedisLocks
from imagerepo.db.locks import AdvisoryLocks
from imagerepo.errors import ServiceUnavailable
from imagerepo.services.locks import Locks, StripedLocks
from tests.services import free_port


@pytest.fixture(params=["striped", "redis", "postgres"])
async def locks(request: pytest.FixtureRequest) -> AsyncIterator[Locks]:
    if request.param == "striped":
        yield StripedLocks()
        return
    if request.param == "postgres":
        advisory = AdvisoryLocks(request.getfixturevalue("postgres_url"))
        yield advisory
        await advisory.aclose()
        return
    client = connect(request.getfixturevalue("redis_url"))
    try:
        yield RedisLocks(client, prefix=f"test-{secrets.token_hex(4)}:", ttl_seconds=0.3)
    finally:
        await client.aclose()


async def test_one_holder_at_a_time(locks: Locks) -> None:
    inside: list[int] = []
    overlaps = 0

    async def critical(n: int) -> None:
        nonlocal overlaps
        async with locks("blob:ab"):
            overlaps += bool(inside)
            inside.append(n)
            await asyncio.sleep(0.02)
            inside.remove(n)

    await asyncio.gather(*(critical(n) for n in range(6)))
    assert overlaps == 0


async def test_an_exception_releases(locks: Locks) -> None:
    with pytest.raises(RuntimeError):
        async with locks("k"):
            raise RuntimeError("boom")
    async with asyncio.timeout(2), locks("k"):
        pass


async def test_redis_lock_is_renewed_while_held_and_other_keys_are_free(redis_url: str) -> None:
    client = connect(redis_url)
    locks = RedisLocks(client, prefix=f"test-{secrets.token_hex(4)}:", ttl_seconds=0.3)
    try:
        async with locks("render"):
            await asyncio.sleep(1.0)  # three TTLs: only renewal keeps it
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3), locks("render"):
                    pass
            async with asyncio.timeout(0.3), locks("another"):
                pass
    finally:
        await client.aclose()


async def test_redis_lock_gives_up_with_503(redis_url: str) -> None:
    client = connect(redis_url)
    locks = RedisLocks(client, prefix=f"test-{secrets.token_hex(4)}:", wait_seconds=0.2)
    try:
        async with locks("held"):
            with pytest.raises(ServiceUnavailable, match="still held"):
                async with locks("held"):
                    pass
    finally:
        await client.aclose()
    down = RedisLocks(connect(f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(ServiceUnavailable, match="redis"):
        async with down("k"):
            pass


async def test_advisory_lock_gives_up_with_503(postgres_url: str) -> None:
    one, two = AdvisoryLocks(postgres_url), AdvisoryLocks(postgres_url, wait_seconds=0.2)
    try:
        async with one("held"):  # another process's holder: its own pool
            with pytest.raises(ServiceUnavailable, match="still held"):
                async with two("held"):
                    pass
            async with asyncio.timeout(1), two("free"):
                pass
        async with asyncio.timeout(1), two("held"):  # released on exit
            pass
    finally:
        await one.aclose()
        await two.aclose()
    down = AdvisoryLocks(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    with pytest.raises(ServiceUnavailable, match="unreachable"):
        async with down("k"):
            pass
    await down.aclose()
