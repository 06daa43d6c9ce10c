"""What every `BlobStore` promises, checked on LocalBlobStore and S3BlobStore alike."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from imagerepo.errors import NotFound
from imagerepo.storage.base import BlobStore


def staged(tmp_path: Path, data: bytes) -> tuple[str, Path]:
    path = tmp_path / f"staged-{os.urandom(4).hex()}"
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), path


async def read_all(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.get(key)])


async def test_put_get_stat_delete(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    key, source = staged(tmp_path, data)
    assert await store.put(key, source) is True
    assert not source.exists()  # consumed
    assert await store.exists(key)
    assert await read_all(store, key) == data
    info = await store.stat(key)
    assert (info.key, info.size) == (key, len(data))
    assert info.etag.startswith('"') and info.etag.endswith('"')

    again_key, again = staged(tmp_path, data)
    assert await store.put(again_key, again) is False  # already stored: discarded
    assert not again.exists()

    await store.delete(key)
    await store.delete(key)  # absent is fine
    assert not await store.exists(key)
    with pytest.raises(NotFound):
        await read_all(store, key)
    with pytest.raises(NotFound):
        await store.stat(key)


async def test_range_reads(store: BlobStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    key, source = staged(tmp_path, data)
    await store.put(key, source)

    async def part(start: int, end: int | None) -> bytes:
        return b"".join([c async for c in store.get_range(key, start, end, chunk_size=1000)])

    assert await part(0, 10) == data[:10]
    assert await part(5000, None) == data[5000:]
    assert await part(10, 10) == b""
    assert await part(len(data) - 3, len(data)) == data[-3:]


async def test_walk_enumerates_everything_stored(store: BlobStore, tmp_path: Path) -> None:
    keys = set()
    for n in range(5):
        key, source = staged(tmp_path, f"blob {n}".encode())
        await store.put(key, source)
        keys.add(key)
    derivative = hashlib.sha256(b"a derivative key").hexdigest()
    await store.put_bytes(derivative, b"webp bytes")
    assert {key async for key in store.walk()} == keys | {derivative}


async def test_put_bytes_overwrites_and_reads_back(store: BlobStore) -> None:
    key = hashlib.sha256(b"thumb").hexdigest()
    await store.put_bytes(key, b"one")
    await store.put_bytes(key, b"two")
    assert await read_all(store, key) == b"two"


async def test_concurrent_conditional_puts_have_exactly_one_winner(store: BlobStore) -> None:
    key = hashlib.sha256(os.urandom(8)).hexdigest()
    bodies = [os.urandom(64 * 1024) for _ in range(8)]
    won = await asyncio.gather(*(store.put_if_absent(key, body) for body in bodies))
    assert won.count(True) == 1
    assert await read_all(store, key) == bodies[won.index(True)]


async def test_keys_that_are_not_digests_are_refused(store: BlobStore) -> None:
    with pytest.raises(NotFound):
        await store.exists("../../etc/passwd")
    with pytest.raises(NotFound):
        await read_all(store, "nope")


async def test_ping(store: BlobStore) -> None:
    await store.ping()


async def test_open_gives_size_etag_and_a_range(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(50_000)
    key, source = staged(tmp_path, data)
    await store.put(key, source)
    async with await store.open(key) as whole:
        assert (whole.info.size, whole.start, whole.end, whole.length) == (
            50_000,
            0,
            50_000,
            50_000,
        )
        assert whole.info.etag == (await store.stat(key)).etag
        assert b"".join([c async for c in whole]) == data
    async with await store.open(key, 100, 200) as part:
        assert (part.start, part.end, part.info.size) == (100, 200, 50_000)
        assert b"".join([c async for c in part]) == data[100:200]
    async with await store.open(key, 49_990) as tail:
        assert b"".join([c async for c in tail]) == data[49_990:]
    async with await store.open(key, 60_000) as past:
        assert past.length == 0 and b"".join([c async for c in past]) == b""
    with pytest.raises(NotFound):
        await store.open(hashlib.sha256(b"absent").hexdigest())


async def test_an_open_handle_survives_a_delete(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(200_000)
    key, source = staged(tmp_path, data)
    await store.put(key, source)
    blob = await store.open(key, chunk_size=64 * 1024)
    await store.delete(key)
    async with blob:
        assert b"".join([c async for c in blob]) == data
    assert not await store.exists(key)


async def test_an_unread_handle_can_be_closed(store: BlobStore, tmp_path: Path) -> None:
    key, source = staged(tmp_path, b"never read")
    await store.put(key, source)
    blob = await store.open(key)
    await blob.aclose()
