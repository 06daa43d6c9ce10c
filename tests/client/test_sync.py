"""Bulk sync against the real app: hash locally, ask /check, send only what is missing.

Bytes are counted where the server receives them (`Wire`), not where the client thinks it sent.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from imagerepo.client import digests
from imagerepo.client.api import ImageRepoClient
from imagerepo.client.digest_cache import DigestCache, FileKey, default_path
from imagerepo.client.selection import collect
from imagerepo.client.upload import Status, UploadReport, upload_all
from tests.client.conftest import CHECK, UPLOAD, Wire
from tests.images import make_image


def photo_folder(root: Path, count: int) -> Path:
    """`count` distinct small JPEGs, some in a subfolder, and one file that is not an image."""
    for i in range(count):
        where = root / ("2024" if i % 2 else "") / f"img_{i:03d}.jpg"
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_bytes(make_image(seed=i))
    (root / "notes.txt").write_text("not a photo")
    return root


async def sync(client: ImageRepoClient, folder: Path, **options: object) -> UploadReport:
    cache = DigestCache(default_path())
    try:
        return await upload_all(client, collect(dirs=[folder]), cache=cache, **options)  # type: ignore[arg-type]
    finally:
        cache.close()


async def test_a_resync_sends_no_image_bytes(
    client: ImageRepoClient, wire: Wire, tmp_path: Path
) -> None:
    folder = photo_folder(tmp_path / "photos", 6)

    first = await sync(client, folder)
    assert (
        first.summary()
        == "6 new, 0 updated, 0 already stored, 0 failed\nskipped: 1 not an image file name"
    )
    assert wire.requests[UPLOAD] == 6 and wire.image_bytes > 6 * 600
    wire.reset()

    second = await sync(client, folder)
    assert second.summary().splitlines()[0] == "0 new, 0 updated, 6 already stored, 0 failed"
    assert wire.image_bytes == 0 and wire.requests[UPLOAD] == 0
    assert wire.requests[CHECK] == 1
    ids = {r.image_id for r in first.results}
    assert {r.image_id for r in second.results} == ids and None not in ids


async def test_only_the_missing_files_are_sent(
    client: ImageRepoClient, wire: Wire, tmp_path: Path
) -> None:
    folder = photo_folder(tmp_path / "photos", 3)
    await sync(client, folder)
    (folder / "2024" / "new_one.jpg").write_bytes(make_image(seed=50))
    wire.reset()

    report = await sync(client, folder)

    assert report.summary().splitlines()[0] == "1 new, 0 updated, 3 already stored, 0 failed"
    assert wire.requests[UPLOAD] == 1
    new = [r for r in report.results if r.status is Status.NEW]
    assert [r.path.name for r in new] == ["new_one.jpg"]


async def test_identical_files_in_one_run_are_sent_once(
    client: ImageRepoClient, wire: Wire, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    data = make_image(seed=3)
    (folder / "a.jpg").write_bytes(data)
    (folder / "b_copy.jpg").write_bytes(data)

    report = await sync(client, folder)

    assert wire.requests[UPLOAD] == 1
    assert report.summary() == "1 new, 0 updated, 1 already stored, 0 failed"
    first, copy = report.results
    assert copy.status is Status.STORED and copy.image_id == first.image_id
    assert copy.note == f"same bytes as {folder / 'a.jpg'}"


async def test_a_copy_of_a_file_that_failed_fails_too(
    client: ImageRepoClient, wire: Wire, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"not an image at all")
    (folder / "b.jpg").write_bytes(b"not an image at all")

    report = await sync(client, folder)

    assert wire.requests[UPLOAD] == 1  # a 422 is final: not retried, and the copy is not sent
    failed = [r for r in report.results if r.status is Status.FAILED]
    assert len(failed) == 2 and not report.ok
    assert failed[1].error is not None and failed[1].error.startswith(
        f"same bytes as {folder / 'a.jpg'}, which failed: "
    )


async def test_the_second_run_reads_no_file_and_a_touched_file_is_hashed_again(
    client: ImageRepoClient, wire: Wire, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = photo_folder(tmp_path / "photos", 5)
    original = digests.hash_file
    first = await sync(client, folder)
    assert (first.hashed, first.from_cache) == (5, 0)

    def must_not_read(path: str) -> tuple[FileKey, str, bool]:
        raise AssertionError(f"read {path}")

    monkeypatch.setattr(digests, "hash_file", must_not_read)
    second = await sync(client, folder)
    assert (second.hashed, second.from_cache) == (0, 5)
    assert second.summary().splitlines()[0] == "0 new, 0 updated, 5 already stored, 0 failed"

    touched = folder / "img_000.jpg"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    read: list[str] = []

    def recording(path: str) -> tuple[FileKey, str, bool]:
        read.append(path)
        return original(path)

    monkeypatch.setattr(digests, "hash_file", recording)
    third = await sync(client, folder)
    assert read == [os.path.abspath(touched)]
    assert (third.hashed, third.from_cache) == (1, 4)
    assert third.summary().splitlines()[0] == "0 new, 0 updated, 5 already stored, 0 failed"


async def test_a_changed_file_is_hashed_again_and_sent(
    client: ImageRepoClient, wire: Wire, tmp_path: Path
) -> None:
    folder = photo_folder(tmp_path / "photos", 2)
    await sync(client, folder)
    (folder / "img_000.jpg").write_bytes(make_image(seed=99))  # new bytes, new size or mtime
    wire.reset()

    report = await sync(client, folder)

    assert report.summary().splitlines()[0] == "1 new, 0 updated, 1 already stored, 0 failed"
    assert wire.requests[UPLOAD] == 1


async def test_a_dry_run_checks_and_sends_nothing(
    client: ImageRepoClient, wire: Wire, tmp_path: Path
) -> None:
    folder = photo_folder(tmp_path / "photos", 4)
    await upload_all(client, collect(files=[folder / "img_000.jpg"]))
    wire.reset()

    report = await sync(client, folder, dry_run=True)

    assert wire.requests[CHECK] == 1 and wire.requests[UPLOAD] == 0 and wire.image_bytes == 0
    assert report.ok
    assert report.summary().splitlines()[0] == (
        "dry run: 3 to send, 0 to update, 1 already stored, 0 failed; nothing was sent"
    )
    would = sorted(r.path.name for r in report.results if r.status is Status.WOULD_SEND)
    assert would == ["img_001.jpg", "img_002.jpg", "img_003.jpg"]
    listing = await client.list_images()
    assert len(listing.items) == 1


async def test_nothing_to_send_asks_nothing(
    client: ImageRepoClient, wire: Wire, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    report = await sync(client, tmp_path / "empty")
    assert report.summary() == "0 new, 0 updated, 0 already stored, 0 failed"
    assert sum(wire.requests.values()) == 0


async def test_checks_go_in_batches_of_5000(
    client: ImageRepoClient, wire: Wire, tmp_path: Path
) -> None:
    digests_ = [f"{i:064x}" for i in range(12_001)]
    answer = await client.check_digests([*digests_, digests_[0].upper()])
    assert wire.requests[CHECK] == 3
    assert answer.existing == {} and answer.missing == digests_


async def test_near_duplicates_are_reported(
    client: ImageRepoClient, wire: Wire, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    original = make_image(size=(640, 480), seed=11)
    (folder / "a_beach.jpg").write_bytes(original)
    first = await sync(client, folder)
    smaller = Image.open(io.BytesIO(original)).resize((320, 240))
    out = io.BytesIO()
    smaller.save(out, "JPEG", quality=40)
    (folder / "b_small.jpg").write_bytes(out.getvalue())

    report = await sync(client, folder)

    new = [r for r in report.results if r.status is Status.NEW]
    assert [n["id"] for n in new[0].near_duplicates] == [first.results[0].image_id]


async def test_hashing_opens_at_most_concurrency_files(
    client: ImageRepoClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):
        (folder / f"f{i:03d}.jpg").write_bytes(f"bytes {i}".encode())
    lock = threading.Lock()
    now = [0, 0]  # open now, most open at once
    original = digests.hash_file

    def counting(path: str) -> tuple[FileKey, str, bool]:
        with lock:
            now[0] += 1
            now[1] = max(now)
        try:
            return original(path)
        finally:
            with lock:
                now[0] -= 1

    monkeypatch.setattr(digests, "hash_file", counting)
    report = await sync(client, folder, concurrency=3, dry_run=True)
    assert report.count(Status.WOULD_SEND) == 300
    assert 1 <= now[1] <= 3
