"""The local digest cache: hits only for unchanged files, and never a reason for a sync to fail."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from imagerepo.client import digests
from imagerepo.client.api import ImageRepoClient
from imagerepo.client.digest_cache import DigestCache, FileKey, default_path
from imagerepo.client.digests import local_digests
from imagerepo.client.selection import collect
from imagerepo.client.upload import upload_all
from tests.images import make_image

A = "a" * 64
B = "b" * 64


@pytest.fixture
def cache_file(digest_cache_dir: Path) -> Path:
    return digest_cache_dir / "digests.sqlite"


def test_it_lives_where_the_environment_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IMAGEREPO_CACHE_DIR", str(tmp_path / "c"))
    assert default_path() == tmp_path / "c" / "digests.sqlite"
    monkeypatch.delenv("IMAGEREPO_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "imagerepo" / "digests.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".cache" / "imagerepo" / "digests.sqlite"


def test_a_digest_is_found_only_while_size_and_mtime_are_unchanged(cache_file: Path) -> None:
    cache = DigestCache(cache_file)
    cache.store([(FileKey("/p/a.jpg", 10, 1000), A), (FileKey("/p/b.jpg", 20, 2000), B)])
    found = cache.lookup(
        [FileKey("/p/a.jpg", 10, 1000), FileKey("/p/b.jpg", 20, 2001), FileKey("/p/c.jpg", 1, 1)]
    )
    assert found == {"/p/a.jpg": A}
    assert cache.lookup([FileKey("/p/a.jpg", 11, 1000)]) == {}
    cache.store([(FileKey("/p/a.jpg", 11, 1000), B)])  # the file changed: its entry is replaced
    assert cache.lookup([FileKey("/p/a.jpg", 11, 1000)]) == {"/p/a.jpg": B}
    cache.close()
    assert DigestCache(cache_file).lookup([FileKey("/p/a.jpg", 11, 1000)]) == {"/p/a.jpg": B}
    assert cache.problem is None


def test_any_file_name_can_be_stored(cache_file: Path) -> None:
    odd = os.fsdecode(b"/p/caf\xe9 \xff.jpg")  # not UTF-8: a surrogate-escaped str
    cache = DigestCache(cache_file)
    cache.store([(FileKey(odd, 1, 1), A)])
    assert cache.lookup([FileKey(odd, 1, 1)]) == {odd: A}


def test_it_is_private_to_its_user(cache_file: Path) -> None:
    DigestCache(cache_file).close()
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_file.parent.stat().st_mode) == 0o700


def test_a_damaged_row_is_a_miss(cache_file: Path) -> None:
    DigestCache(cache_file).store([(FileKey("/p/a.jpg", 1, 1), "not a digest")])
    assert DigestCache(cache_file).lookup([FileKey("/p/a.jpg", 1, 1)]) == {}


def test_a_file_that_is_not_a_database_is_replaced(cache_file: Path) -> None:
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(b"garbage " * 1000)
    cache = DigestCache(cache_file)
    assert cache.enabled
    assert cache.problem is not None and "made a new one" in cache.problem
    cache.store([(FileKey("/p/a.jpg", 1, 1), A)])
    assert cache.lookup([FileKey("/p/a.jpg", 1, 1)]) == {"/p/a.jpg": A}
    with sqlite3.connect(cache_file) as db:
        assert db.execute("SELECT count(*) FROM digests").fetchone() == (1,)


def test_another_schema_is_replaced(cache_file: Path) -> None:
    cache_file.parent.mkdir(parents=True)
    with sqlite3.connect(cache_file) as db:
        db.execute("PRAGMA user_version = 99")
    cache = DigestCache(cache_file)
    assert cache.enabled and cache.problem is not None


def test_a_cache_that_cannot_be_made_is_off(cache_file: Path) -> None:
    (cache_file / "in the way").mkdir(parents=True)  # a folder where the file should be
    cache = DigestCache(cache_file)
    assert not cache.enabled
    assert cache.problem is not None and "hashing every file" in cache.problem
    cache.store([(FileKey("/p/a.jpg", 1, 1), A)])
    assert cache.lookup([FileKey("/p/a.jpg", 1, 1)]) == {}


def test_a_cache_that_breaks_mid_run_is_made_anew(cache_file: Path) -> None:
    cache = DigestCache(cache_file)
    cache.store([(FileKey(f"/p/{i}.jpg", 1, 1), A) for i in range(2000)])
    with sqlite3.connect(cache_file) as other:  # another program breaks it under our feet
        other.execute("DROP TABLE digests")
    assert cache.lookup([FileKey("/p/1.jpg", 1, 1)]) == {}
    assert cache.problem is not None
    cache.store([(FileKey("/p/a.jpg", 1, 1), A)])
    assert DigestCache(cache_file).lookup([FileKey("/p/a.jpg", 1, 1)]) == {"/p/a.jpg": A}


async def test_a_damaged_cache_never_fails_an_upload(
    client: ImageRepoClient, cache_file: Path, tmp_path: Path
) -> None:
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(b"SQLite format 3\0" + b"\xff" * 5000)
    photo = tmp_path / "a.jpg"
    photo.write_bytes(make_image())
    cache = DigestCache(cache_file)
    report = await upload_all(client, collect(files=[photo]), cache=cache)
    assert report.ok and report.summary() == "1 new, 0 updated, 0 already stored, 0 failed"
    assert report.notes and "digest cache" in report.notes[0]
    assert DigestCache(cache_file).lookup(
        [FileKey(str(photo), photo.stat().st_size, photo.stat().st_mtime_ns)]
    )


async def test_digests_are_written_as_the_run_goes(
    cache_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that dies half way keeps (most of) what it hashed."""
    files = []
    for i in range(30):
        files.append(tmp_path / f"{i:02d}.jpg")
        files[-1].write_bytes(f"image {i}".encode())
    monkeypatch.setattr(digests, "FLUSH_EVERY", 10)
    monkeypatch.setattr(digests, "BATCH_FILES", 5)
    real = digests.hash_file

    def dies_at_25(path: str) -> tuple[FileKey, str, bool]:
        if path.endswith("25.jpg"):
            raise RuntimeError("killed")
        return real(path)

    monkeypatch.setattr(digests, "hash_file", dies_at_25)
    cache = DigestCache(cache_file)
    with pytest.raises(RuntimeError, match="killed"):
        await local_digests(files, cache=cache, concurrency=1)
    with sqlite3.connect(cache_file) as db:
        assert db.execute("SELECT count(*) FROM digests").fetchone() == (20,)


async def test_rehash_reads_every_file_and_refreshes_the_cache(
    cache_file: Path, tmp_path: Path
) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"one")
    cache = DigestCache(cache_file)
    (first,) = await local_digests([photo], cache=cache, concurrency=2)
    (again,) = await local_digests([photo], cache=cache, concurrency=2)
    (forced,) = await local_digests([photo], cache=cache, concurrency=2, rehash=True)
    assert (first.cached, again.cached, forced.cached) == (False, True, False)
    assert first.sha256 == again.sha256 == forced.sha256


async def test_a_file_that_vanished_is_an_error(cache_file: Path, tmp_path: Path) -> None:
    (gone,) = await local_digests(
        [tmp_path / "gone.jpg"], cache=DigestCache(cache_file), concurrency=1
    )
    assert (gone.sha256, gone.error) == (None, "No such file or directory")
