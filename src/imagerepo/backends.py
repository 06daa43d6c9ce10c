"""The shared backends picked from settings: cache, locks and blob stores.

Part of the composition root (`wiring.build_services` is the only caller): one process alone
uses the in-process cache and locks and the data folder; several processes or machines share
Redis (`IMAGEREPO_CACHE_URL`, cache and locks) and an S3 bucket (`IMAGEREPO_STORAGE_URL`).
Nothing here connects yet (redis-py and obstore connect on first use), so building never fails
on a network; `checks` are what `/readyz` and `imagerepo check-config` ask.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from redis import asyncio as aioredis

from imagerepo.cache.base import Cache, NoCache
from imagerepo.cache.codec import JsonCodec
from imagerepo.cache.memory import MemoryCache
from imagerepo.cache.metered import MeteredCache
from imagerepo.cache.rate_limits import MemoryRateLimiter, RedisRateLimiter
from imagerepo.cache.redis import RedisCache, connect
from imagerepo.cache.redis_locks import RedisLocks
from imagerepo.config import Settings
from imagerepo.services.locks import Locks, StripedLocks
from imagerepo.services.readiness import Check
from imagerepo.services.throttle import RateLimiter
from imagerepo.services.users import TokenHolder  # cached by UserService.authenticate
from imagerepo.storage.base import BlobStore
from imagerepo.storage.local import LocalBlobStore
from imagerepo.storage.s3 import S3BlobStore, make_s3_store, parse_storage_url
from imagerepo.storage.s3_incoming import S3Incoming

#: Cached values that are not in `imagerepo.models` (which the codec registers whole).
EXTRA_CACHED_TYPES: tuple[type, ...] = (TokenHolder,)

log = logging.getLogger("imagerepo")


@dataclass
class Backends:
    cache: Cache
    locks: Locks
    originals: BlobStore
    derivatives: BlobStore
    rate_limiter: RateLimiter
    checks: dict[str, Check] = field(default_factory=dict)
    redis: aioredis.Redis | None = None

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def build_backends(settings: Settings, *, cache: Cache | None = None) -> Backends:
    """`cache` replaces the configured cache (tests); locks still follow the settings."""
    redis = connect(settings.cache_url) if settings.cache_url else None
    cache = MeteredCache(cache if cache is not None else build_cache(settings, redis))
    locks: Locks = RedisLocks(redis) if redis is not None else StripedLocks()
    originals, derivatives = build_blob_stores(settings)
    checks: dict[str, Check] = {"storage": originals.ping}
    if redis is not None:
        client = redis

        async def ping_redis() -> None:
            await client.ping()

        checks["cache"] = ping_redis
    rate_limiter: RateLimiter = (
        RedisRateLimiter(redis)
        if redis is not None
        else MemoryRateLimiter(settings.login_failure_window_seconds)
    )
    return Backends(cache, locks, originals, derivatives, rate_limiter, checks, redis)


def build_cache(settings: Settings, redis: aioredis.Redis | None) -> Cache:
    """Redis when configured; else an in-process cache, except on PostgreSQL: a database other
    processes share (servers, job workers) whose writes an in-process cache would not see, so
    a change made through one process could be served stale by another for the entry's TTL."""
    if settings.cache_size == 0 or settings.cache_ttl_seconds == 0:
        return NoCache()
    if redis is not None:
        return RedisCache(redis, settings.cache_ttl_seconds, codec=JsonCodec(EXTRA_CACHED_TYPES))
    if shared_database(settings):
        log.info("no cache: PostgreSQL without IMAGEREPO_CACHE_URL (set a Redis URL to cache)")
        return NoCache()
    return MemoryCache(settings.cache_size, settings.cache_ttl_seconds)


def shared_database(settings: Settings) -> bool:
    """True when other processes may write the same library (a PostgreSQL database)."""
    return settings.resolved_database_url.startswith("postgresql")


def build_blob_stores(settings: Settings) -> tuple[BlobStore, BlobStore]:
    """(originals, derivatives): `<prefix>/blobs` and `<prefix>/derivatives` of the storage URL."""
    url = settings.storage_url
    if url is None:
        return LocalBlobStore(settings.blob_dir), LocalBlobStore(settings.derivative_dir)
    if url.startswith("file://"):
        root = Path(unquote(urlsplit(url).path))
        return LocalBlobStore(root / "blobs"), LocalBlobStore(root / "derivatives")
    bucket, prefix = parse_storage_url(url)

    def store(kind: str) -> S3BlobStore:
        full = f"{prefix}/{kind}" if prefix else kind
        return S3BlobStore(
            make_s3_store(
                bucket,
                full,
                endpoint=settings.s3_endpoint,
                access_key=settings.s3_access_key,
                secret_key=(
                    settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
                ),
                region=settings.s3_region,
            ),
            description=f"s3://{bucket}/{full}",
        )

    return store("blobs"), store("derivatives")


def build_incoming(settings: Settings) -> S3Incoming | None:
    """Direct uploads' `incoming/` objects, at the storage URL's own prefix (S3 only)."""
    url = settings.storage_url
    if url is None or not url.startswith("s3://"):
        return None
    bucket, prefix = parse_storage_url(url)
    secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
    store, signer = (
        make_s3_store(
            bucket,
            prefix,
            endpoint=endpoint,
            access_key=settings.s3_access_key,
            secret_key=secret,
            region=settings.s3_region,
        )
        for endpoint in (settings.s3_endpoint, settings.s3_public_endpoint or settings.s3_endpoint)
    )
    return S3Incoming(store, signer=signer, description=f"s3://{bucket}/{prefix}")
