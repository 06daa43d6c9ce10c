"""The login throttle's counters under one contract: in this process and in Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from imagerepo.cache.rate_limits import MemoryRateLimiter, RedisRateLimiter
from imagerepo.cache.redis import connect
from imagerepo.errors import TooManyRequests
from imagerepo.services.throttle import LoginThrottle, RateLimiter


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter(60)
        return
    client = connect(request.getfixturevalue("redis_url"))
    try:
        yield RedisRateLimiter(client, prefix=f"test-{secrets.token_hex(4)}:")
    finally:
        await client.aclose()


async def test_counts_within_a_window_and_forgets_after_it(limiter: RateLimiter) -> None:
    assert await limiter.count("k") == (0, 0.0)
    assert [await limiter.hit("k", 0.4) for _ in range(3)] == [1, 2, 3]
    count, left = await limiter.count("k")
    assert count == 3 and 0 < left <= 0.4
    # The window started at the first hit: later hits do not extend it.
    await asyncio.sleep(0.5)  # the behaviour under test is expiry itself
    assert await limiter.count("k") == (0, 0.0)
    assert await limiter.hit("k", 0.4) == 1


async def test_clear_and_keys_are_independent(limiter: RateLimiter) -> None:
    await limiter.hit("a", 60)
    await limiter.hit("b", 60)
    await limiter.clear("a")
    assert (await limiter.count("a"))[0] == 0 and (await limiter.count("b"))[0] == 1


async def test_concurrent_hits_are_all_counted(limiter: RateLimiter) -> None:
    counts = await asyncio.gather(*(limiter.hit("c", 60) for _ in range(20)))
    assert sorted(counts) == list(range(1, 21))


async def test_the_throttle_stops_a_guesser_and_a_sprayer_but_not_the_owner(
    limiter: RateLimiter,
) -> None:
    throttle = LoginThrottle(limiter, limit=3, window_seconds=60)
    for _ in range(3):
        await throttle.check("root", "10.0.0.9")
        await throttle.failed("root", "10.0.0.9")
    with pytest.raises(TooManyRequests) as refused:
        await throttle.check("root", "10.0.0.9")
    assert refused.value.retry_after is not None and 1 <= refused.value.retry_after <= 60
    await throttle.check("root", "10.0.0.1")  # the real owner, elsewhere, is not locked out
    await throttle.check("alice", "10.0.0.9")  # another name from there: not yet
    for n in range(27):  # 30 failures from one address across names: a sprayer
        await throttle.failed(f"user{n}", "10.0.0.9")
    with pytest.raises(TooManyRequests):
        await throttle.check("bob", "10.0.0.9")
