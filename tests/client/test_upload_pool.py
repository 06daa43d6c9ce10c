"""The upload worker pool: bounded, complete, in order, and never stopped by one bad file.

`SlowClient` stands in for `ImageRepoClient` (no HTTP): `check_digests` says every file is
missing, and `upload` opens the file like the real one and counts how many are open at once,
which is what broke the 2021 client at `ulimit -n 256`. The sync against the real app is in
test_sync.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from imagerepo.client.api import ImageRepoClient
from imagerepo.client.schemas import DigestCheck, ImageJSON, Outcome, UploadResult, Visibility
from imagerepo.client.selection import Selection, collect
from imagerepo.client.upload import Status, upload_all
from imagerepo.errors import InvalidImage, TransportError


class SlowClient:
    def __init__(self, *, refuse: str = "", unreachable_after: int | None = None) -> None:
        self.open_now = 0
        self.most_open = 0
        self.sent: list[Path] = []
        self.refuse = refuse
        self.unreachable_after = unreachable_after

    async def check_digests(self, digests: Sequence[str]) -> DigestCheck:
        return DigestCheck(existing={}, missing=list(digests))

    async def upload(
        self,
        path: Path,
        *,
        description: str | None = None,
        visibility: Visibility | None = None,
    ) -> UploadResult:
        if self.unreachable_after is not None and len(self.sent) >= self.unreachable_after:
            raise TransportError("cannot reach the server", kind="connect")
        with path.open("rb"):
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
            self.sent.append(path)
            await asyncio.sleep(0.001)
            self.open_now -= 1
        if path.name == self.refuse:
            raise InvalidImage("not an image")
        image: dict[str, Any] = {"id": path.stem, "visibility": visibility}
        outcome: Outcome = "unchanged" if path.stem.endswith("0") else "created"
        return UploadResult(outcome=outcome, image=cast(ImageJSON, image))

    @property
    def client(self) -> ImageRepoClient:
        return cast(ImageRepoClient, self)


def make_files(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"img_{i:04d}.jpg" for i in range(count)]
    for path in paths:
        path.write_bytes(path.name.encode())  # distinct bytes: identical ones are sent once
    return paths


async def test_no_more_than_concurrency_files_are_open(tmp_path: Path) -> None:
    files = make_files(tmp_path, 300)
    fake = SlowClient()
    report = await upload_all(fake.client, Selection(files=files), concurrency=8)
    assert fake.most_open == 8
    assert sorted(fake.sent) == files
    assert [r.path for r in report.results] == files  # reported in input order


async def test_concurrency_larger_than_the_work(tmp_path: Path) -> None:
    files = make_files(tmp_path, 3)
    report = await upload_all(SlowClient().client, Selection(files=files), concurrency=64)
    assert len(report.results) == 3


async def test_nothing_to_send(tmp_path: Path) -> None:
    report = await upload_all(SlowClient().client, Selection())
    assert report.results == []
    assert report.ok
    assert report.summary() == "0 new, 0 updated, 0 already stored, 0 failed"


async def test_one_bad_file_does_not_stop_the_rest(tmp_path: Path) -> None:
    files = make_files(tmp_path, 12)
    fake = SlowClient(refuse="img_0005.jpg")
    report = await upload_all(fake.client, Selection(files=files), concurrency=4)
    failed = [r for r in report.results if r.status is Status.FAILED]
    assert [(r.path.name, r.error) for r in failed] == [("img_0005.jpg", "not an image")]
    assert len(fake.sent) == 12
    assert not report.ok
    assert report.summary() == "9 new, 0 updated, 2 already stored, 1 failed"


async def test_unreadable_and_missing_inputs_are_failures(tmp_path: Path) -> None:
    files = make_files(tmp_path / "ok", 2)
    vanished = tmp_path / "ok" / "vanished.jpg"  # listed, then deleted before it was sent
    selection = collect(files=[*files, tmp_path / "nope.jpg"])
    selection.files.append(vanished)
    report = await upload_all(SlowClient().client, selection)
    by_name = {r.path.name: (r.status, r.error) for r in report.results}
    assert by_name["nope.jpg"] == (Status.FAILED, "no such file")
    assert by_name["vanished.jpg"] == (Status.FAILED, "No such file or directory")
    assert (
        report.summary() == "1 new, 0 updated, 1 already stored, 2 failed"
    )  # img_0000 was "stored"


async def test_an_unreachable_server_stops_the_run(tmp_path: Path) -> None:
    files = make_files(tmp_path, 50)
    fake = SlowClient(unreachable_after=5)
    report = await upload_all(fake.client, Selection(files=files), concurrency=1)
    assert len(fake.sent) == 5
    errors = [r.error for r in report.results[6:]]
    assert errors == ["not sent: the server is unreachable"] * 44


async def test_the_summary_counts_skipped_files(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("x")
    (tmp_path / "d" / ".b.jpg").write_text("x")
    (tmp_path / "d" / "c.txt").write_text("x")
    report = await upload_all(SlowClient().client, collect(dirs=[tmp_path / "d"]))
    assert report.summary() == (
        "0 new, 0 updated, 0 already stored, 0 failed\nskipped: 1 hidden, 2 not an image file name"
    )
