from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from imagerepo.errors import NotFound, PayloadTooLarge
from imagerepo.storage.local import LocalBlobStore
from imagerepo.storage.staging import Staging


async def test_staged_file_hashes_and_is_stored_under_its_digest(tmp_path: Path) -> None:
    staging, store = Staging(tmp_path / "tmp"), LocalBlobStore(tmp_path / "blobs")
    data = b"x" * 3_000_000
    async with staging.file(max_bytes=10_000_000) as staged:
        for start in range(0, len(data), 65536):
            await staged.write(data[start : start + 65536])
        digest = await staged.finish()
        assert digest == hashlib.sha256(data).hexdigest()
        assert await store.put(digest, staged.path) is True
    assert (tmp_path / "blobs" / digest[:2] / digest[2:4] / digest).read_bytes() == data
    assert list((tmp_path / "tmp").iterdir()) == []
    assert b"".join([chunk async for chunk in store.get(digest)]) == data
    await store.delete(digest)
    assert not await store.exists(digest)
    with pytest.raises(NotFound):
        [chunk async for chunk in store.get(digest)]


async def test_over_the_limit_raises_and_leaves_nothing(tmp_path: Path) -> None:
    staging = Staging(tmp_path / "tmp")
    with pytest.raises(PayloadTooLarge):
        async with staging.file(max_bytes=100) as staged:
            await staged.write(b"y" * 101)
    assert list((tmp_path / "tmp").iterdir()) == []


async def test_putting_known_bytes_again_keeps_one_copy(tmp_path: Path) -> None:
    staging, store = Staging(tmp_path / "tmp"), LocalBlobStore(tmp_path / "blobs")
    results = []
    for _ in range(2):
        async with staging.file(max_bytes=100) as staged:
            await staged.write(b"same")
            results.append(await store.put(await staged.finish(), staged.path))
    assert results == [True, False]
    assert len([p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]) == 1


def test_sweep_removes_leftovers_of_a_crash_but_not_uploads_in_flight(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    old, fresh = tmp_path / "tmp" / "upload-abc", tmp_path / "tmp" / "upload-def"
    old.write_bytes(b"half")
    fresh.write_bytes(b"arriving")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    # Another process on the same folder (a second worker, `imagerepo admin`) may be receiving
    # `fresh` right now.
    assert Staging(tmp_path / "tmp").sweep() == 1
    assert not old.exists() and fresh.exists()


async def test_keys_that_are_not_digests_are_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(NotFound):
        await store.exists("../../etc/passwd")
