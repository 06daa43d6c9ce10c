"""Which cache a process builds: never one that other processes' writes cannot reach."""

from __future__ import annotations

from pathlib import Path

from imagerepo.backends import build_cache
from imagerepo.cache.base import NoCache
from imagerepo.cache.memory import MemoryCache
from imagerepo.config import Settings


def test_embedded_sqlite_caches_in_process(tmp_path: Path) -> None:
    assert isinstance(build_cache(Settings(data_dir=tmp_path), None), MemoryCache)


def test_postgresql_without_redis_caches_nothing(tmp_path: Path) -> None:
    """Servers and job workers share the database: an in-process copy would go stale when
    another process writes (a visibility change served for the entry's TTL)."""
    settings = Settings(
        data_dir=tmp_path, database_url="postgresql+asyncpg://u@127.0.0.1:5432/imagerepo"
    )
    assert isinstance(build_cache(settings, None), NoCache)


def test_a_cache_of_size_zero_is_no_cache(tmp_path: Path) -> None:
    assert isinstance(build_cache(Settings(data_dir=tmp_path, cache_size=0), None), NoCache)
