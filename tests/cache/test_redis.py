"""RedisCache beyond the contract: the codec, long keys, and a Redis outage (a miss, not a 500)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from imagerepo.cache.codec import CodecError, JsonCodec
from imagerepo.cache.redis import RedisCache, connect
from imagerepo.models import User
from tests.cache.test_contract import IMAGE
from tests.services import free_port, start_service


@dataclasses.dataclass(frozen=True)
class Unregistered:
    x: int


def test_codec_builds_only_registered_types() -> None:
    codec = JsonCodec()
    assert codec.decode(codec.encode(IMAGE)) == IMAGE
    with pytest.raises(CodecError):
        codec.encode(Unregistered(1))
    with pytest.raises(CodecError):
        codec.decode(b'{"$d": "Popen", "v": {"args": ["rm", "-rf", "/"]}}')
    with pytest.raises(CodecError):
        codec.decode(b"\x80\x04 a pickle")
    assert JsonCodec([Unregistered]).decode(JsonCodec([Unregistered]).encode(Unregistered(2))) == (
        Unregistered(2)
    )


async def test_long_keys_are_hashed_and_still_distinct(redis_url: str) -> None:
    cache = RedisCache(connect(redis_url), 60, prefix="test-long:")
    try:
        await cache.set("list:1:" + "a" * 500, 1)
        await cache.set("list:1:" + "a" * 499 + "b", 2)
        assert await cache.get("list:1:" + "a" * 500) == 1
        assert await cache.get("list:1:" + "a" * 499 + "b") == 2
    finally:
        await cache.aclose()


async def test_an_outage_is_a_miss_and_lost_bumps_are_replayed(tmp_path: Path) -> None:
    port = free_port()
    redis = start_service("redis", tmp_path / "redis", port)
    now = [0.0]
    cache = RedisCache(connect(redis.url), 60, prefix="test-outage:", clock=lambda: now[0])
    user = User("u1", "ann", False, IMAGE.created_at)
    try:
        generation = await cache.generation("users")
        await cache.set(f"user:{generation}:u1", user)
        assert await cache.get(f"user:{generation}:u1") == user

        redis.stop()
        assert await cache.get(f"user:{generation}:u1") is None  # a miss, no exception
        await cache.set("anything", user)  # skipped
        await cache.bump("users")  # lost for now: remembered
        assert await cache.generation("users") < 0  # unusable: nothing cached under it is found

        start_service("redis", tmp_path / "redis", port)  # empty again, like a restarted Redis
        now[0] += 10  # past the cool-down
        generation_before = 0
        assert await cache.generation("users") == generation_before + 1  # the bump, replayed
        assert cache.errors >= 1
    finally:
        await cache.aclose()
        redis.stop()
