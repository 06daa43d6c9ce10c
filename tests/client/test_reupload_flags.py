"""Explicit flags win on re-upload: `--private`, `--public` and `--description` are applied to
files the server already has (PATCHed, no bytes sent); without them nothing stored changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from imagerepo import cli
from imagerepo.client.api import ImageRepoClient
from imagerepo.client.schemas import (
    DigestCheck,
    ImageJSON,
    Outcome,
    StoredImageJSON,
    UploadResult,
    Visibility,
)
from imagerepo.client.selection import collect
from imagerepo.client.upload import Status, upload_all
from tests.client.conftest import BASE_URL, UPLOAD, Run, Wire, tree

PATCHES = "PATCH /api/v1/images/"


def patches(wire: Wire) -> int:
    return sum(n for route, n in wire.requests.items() if route.startswith(PATCHES))


async def stored(run: Run) -> dict[str, tuple[str, str]]:
    """title → (visibility, description) of everything root sees."""
    images = json.loads((await run("images", "--json")).stdout)
    return {i["title"]: (i["visibility"], i["description"]) for i in images}


async def summary(run: Run, *args: str) -> str:
    result = await run("upload", *args)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[-1]


async def test_flags_update_what_is_stored_and_no_flags_change_nothing(
    run: Run, wire: Wire, tmp_path: Path
) -> None:
    photos = str(tree(tmp_path / "photos", ["a.jpg", "b.jpg", "c.jpg"]))
    assert await summary(run, photos) == "3 new, 0 updated, 0 already stored, 0 failed"
    assert await stored(run) == {t: ("public", "") for t in "abc"}  # no flag: public
    wire.reset()

    assert await summary(run, "--private", photos) == "0 new, 3 updated, 0 already stored, 0 failed"
    assert (wire.requests[UPLOAD], wire.image_bytes, patches(wire)) == (0, 0, 3)
    assert await stored(run) == {t: ("private", "") for t in "abc"}

    again = await summary(run, "--private", photos)
    assert again == "0 new, 0 updated, 3 already stored, 0 failed"
    nothing = await summary(run, photos)
    assert nothing == "0 new, 0 updated, 3 already stored, 0 failed"
    assert await stored(run) == {t: ("private", "") for t in "abc"}  # no flag: kept


async def test_only_what_differs_is_updated_and_new_files_get_the_flags(
    run: Run, wire: Wire, tmp_path: Path
) -> None:
    photos = tree(tmp_path / "photos", ["a.jpg", "b.jpg", "c.jpg"])
    await summary(run, str(photos / "a.jpg"), "--private")
    await summary(run, str(photos / "b.jpg"))
    wire.reset()

    result = await run("upload", "--json", "--public", str(photos))
    statuses = {Path(f["path"]).name: f["status"] for f in json.loads(result.stdout)}
    assert statuses == {"a.jpg": "updated", "b.jpg": "already stored", "c.jpg": "new"}
    assert patches(wire) == 1
    assert await stored(run) == {t: ("public", "") for t in "abc"}

    line = await summary(run, "--description", "my cats", "--private", str(photos))
    assert line == "0 new, 3 updated, 0 already stored, 0 failed"
    assert await stored(run) == {t: ("private", "my cats") for t in "abc"}
    cleared = await summary(run, "--description", "", str(photos / "b.jpg"))
    assert cleared == "0 new, 1 updated, 0 already stored, 0 failed"
    assert (await stored(run))["b"] == ("private", "")


async def test_dry_run_says_what_would_be_updated(run: Run, wire: Wire, tmp_path: Path) -> None:
    photos = tree(tmp_path / "photos", ["a.jpg", "b.jpg", "c.jpg"])
    await summary(run, str(photos / "a.jpg"), str(photos / "b.jpg"))
    await summary(run, "--private", str(photos / "b.jpg"))
    wire.reset()

    result = await run("upload", "--dry-run", "--private", str(photos))
    lines = result.stdout.splitlines()
    assert lines[-1] == (
        "dry run: 1 to send, 1 to update, 1 already stored, 0 failed; nothing was sent"
    )
    assert [line.split()[0] for line in lines if "would update" in line] == [str(photos / "a.jpg")]
    assert (wire.requests[UPLOAD], patches(wire)) == (0, 0)
    assert (await stored(run))["a"] == ("public", "")


async def test_the_seed_script_applies_its_flags_too(run: Run, wire: Wire, tmp_path: Path) -> None:
    photos = tree(tmp_path / "photos", ["a.jpg", "b.jpg"])
    await summary(run, str(photos))
    argv = ["--default-dir", str(photos), "--private", "--description", "my cats"]

    def seed() -> int:
        with pytest.raises(SystemExit) as exited:
            cli.run_command("upload", [*argv, "--url", BASE_URL], prog_name="post_client.py")
        return int(exited.value.code or 0)

    assert await asyncio.to_thread(seed) == 0
    assert await stored(run) == {t: ("private", "my cats") for t in "ab"}


class FakeServer:
    """A server that answers `/check` as told and records what the client sends."""

    def __init__(self, check: DigestCheck | None = None, outcome: str = "created") -> None:
        self.check = check
        self.outcome = outcome
        self.uploads: list[dict[str, Any]] = []
        self.updates: list[tuple[str, dict[str, Any]]] = []

    async def check_digests(self, digests: Sequence[str]) -> DigestCheck:
        if self.check is None:
            return DigestCheck(existing={}, missing=list(digests))
        return DigestCheck(
            existing={d: self.check.existing[d] for d in digests if d in self.check.existing},
            missing=[d for d in digests if d not in self.check.existing],
            images=self.check.images,
        )

    async def upload(
        self,
        path: Path,
        *,
        description: str | None = None,
        visibility: Visibility | None = None,
    ) -> UploadResult:
        self.uploads.append({"visibility": visibility, "description": description})
        image = cast(ImageJSON, {"id": path.stem, "sha256": ""})
        return UploadResult(outcome=cast(Outcome, self.outcome), image=image)

    async def update_image(
        self, image_id: str, *, description: str | None = None, visibility: str | None = None
    ) -> ImageJSON:
        self.updates.append((image_id, {"description": description, "visibility": visibility}))
        return cast(ImageJSON, {"id": image_id})

    @property
    def client(self) -> ImageRepoClient:
        return cast(ImageRepoClient, self)


async def test_no_flag_sends_no_field_and_a_raced_upload_can_be_updated(tmp_path: Path) -> None:
    files = collect([], [tree(tmp_path / "p", ["a.jpg"])], [])
    plain = FakeServer()
    await upload_all(plain.client, files)
    assert plain.uploads == [{"visibility": None, "description": None}]

    # /check said missing, but by the time it arrived the server had it: its answer decides.
    raced = FakeServer(outcome="updated")
    report = await upload_all(raced.client, files, visibility="private")
    assert [r.status for r in report.results] == [Status.UPDATED]


async def test_a_server_that_does_not_say_what_is_stored_gets_every_flag(tmp_path: Path) -> None:
    from imagerepo.client.digest_cache import DigestCache
    from imagerepo.client.digests import local_digests

    files = collect([], [tree(tmp_path / "p", ["a.jpg", "b.jpg"])], [])
    digests = await local_digests(files.files, cache=DigestCache.disabled(), concurrency=2)
    a, b = (d.sha256 or "" for d in digests)
    known: dict[str, StoredImageJSON] = {a: {"id": "A", "visibility": "private", "description": ""}}
    server = FakeServer(DigestCheck(existing={a: "A", b: "B"}, missing=[], images=known))
    report = await upload_all(server.client, files, visibility="private")
    assert [r.status for r in report.results] == [Status.STORED, Status.UPDATED]
    assert server.updates == [("B", {"description": None, "visibility": "private"})]
