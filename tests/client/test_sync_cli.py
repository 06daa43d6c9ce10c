"""`imagerepo upload` and `show` as a user runs them, against the real app in this process.

The CLI runs its own event loop (`asyncio.run`), so it runs in a worker thread here, and its
client reaches the app, which lives on the test's loop, through `LoopBridge`. Only the client's
transport is swapped; the command, the login, the app and its database are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from imagerepo import cli, credentials
from imagerepo.cli import runner
from imagerepo.client import render
from imagerepo.client.api import ImageRepoClient
from imagerepo.client.retry import RetryPolicy
from tests.client.conftest import BASE_URL, UPLOAD, Wire
from tests.conftest import ROOT_PASSWORD
from tests.images import EXIF_SAMPLES, make_image

Run = Callable[..., Any]


class LoopBridge(httpx.AsyncBaseTransport):
    """Sends each request on `loop` (where the app lives) and hands the answer back."""

    def __init__(self, inner: httpx.AsyncBaseTransport, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self.loop = loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        done: Future[httpx.Response] = asyncio.run_coroutine_threadsafe(
            self.inner.handle_async_request(request), self.loop
        )
        return await asyncio.wrap_future(done)


@pytest.fixture
async def run(wire: Wire, retry: RetryPolicy, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`await run("upload", ...)`: the CLI as root against the in-process app."""
    bridge = LoopBridge(httpx.ASGITransport(app=wire), asyncio.get_running_loop())

    def client(url: str, **kwargs: Any) -> ImageRepoClient:
        return ImageRepoClient(url, transport=bridge, retry=retry, **kwargs)

    monkeypatch.setattr(runner, "ImageRepoClient", client)
    credentials.save_login(BASE_URL, "root", ROOT_PASSWORD)

    async def invoke(*args: str) -> Result:
        argv = [*args, "--url", BASE_URL]
        return await asyncio.to_thread(CliRunner().invoke, cli.app, argv)

    return invoke


def tree(root: Path, names: list[str]) -> Path:
    for seed, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_image(seed=seed) if not name.endswith(".txt") else b"notes")
    return root


async def test_upload_twice(run: Run, wire: Wire, tmp_path: Path) -> None:
    photos = tree(tmp_path / "photos", ["a.jpg", "2024/b.jpg", "2024/c.png", "notes.txt"])

    first = await run("upload", str(photos))
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-2:] == [
        "3 new, 0 already stored, 0 failed",
        "skipped: 1 not an image file name",
    ]
    wire.reset()

    second = await run("upload", str(photos))
    assert second.exit_code == 0, second.output
    assert "0 new, 3 already stored, 0 failed" in second.stdout
    assert wire.image_bytes == 0


async def test_dry_run_lists_what_would_be_sent(run: Run, wire: Wire, tmp_path: Path) -> None:
    photos = tree(tmp_path / "photos", ["a.jpg", "b.jpg", "c.jpg"])
    assert (await run("upload", str(photos / "a.jpg"))).exit_code == 0
    wire.reset()

    result = await run("upload", "--dry-run", str(photos))

    assert result.exit_code == 0, result.output
    assert wire.requests[UPLOAD] == 0
    lines = result.stdout.splitlines()
    assert lines[-1] == "dry run: 2 to send, 1 already stored, 0 failed; nothing was sent"
    would = [line.split()[0] for line in lines if "would send" in line]
    assert would == [str(photos / "b.jpg"), str(photos / "c.jpg")]


async def test_include_and_exclude(run: Run, wire: Wire, tmp_path: Path) -> None:
    photos = tree(
        tmp_path / "photos",
        ["a.jpg", "b.png", "raw/top.jpg", "2024/raw/deep.jpg", "2024/d.JPG", "2024/e.webp"],
    )

    result = await run(
        "upload", "--json", "--exclude", "*/raw/*", "--include", "*.jpg", str(photos)
    )

    assert result.exit_code == 0, result.output
    files = {Path(f["path"]).relative_to(photos).as_posix(): f for f in json.loads(result.stdout)}
    sent = sorted(name for name, f in files.items() if f["status"] == "new")
    assert sent == ["2024/d.JPG", "a.jpg"]
    assert files["raw"]["reason"] == files["2024/raw"]["reason"] == "excluded by --exclude"
    assert files["b.png"]["reason"] == "not matched by --include"
    assert files["2024/e.webp"]["status"] == "skipped"
    assert wire.requests[UPLOAD] == 2


async def test_json_lists_every_file_with_its_status(run: Run, tmp_path: Path) -> None:
    photos = tree(tmp_path / "photos", ["a.jpg", "b.jpg", ".hidden.jpg"])
    (photos / "bad.jpg").write_bytes(b"not an image")
    result = await run("upload", "--json", str(photos))
    assert result.exit_code == 1  # bad.jpg failed
    by_name = {Path(f["path"]).name: f for f in json.loads(result.stdout)}
    assert {n: f["status"] for n, f in by_name.items()} == {
        "a.jpg": "new",
        "b.jpg": "new",
        "bad.jpg": "failed",
        ".hidden.jpg": "skipped",
    }
    assert by_name["a.jpg"]["image_id"] == by_name["a.jpg"]["image"]["id"]
    assert len(by_name["a.jpg"]["sha256"]) == 64
    assert by_name["bad.jpg"]["error"]


async def test_a_large_resync_prints_the_summary_not_every_row(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "ROW_LIMIT", 3)
    photos = tree(tmp_path / "photos", [f"{i}.jpg" for i in range(5)])
    first = await run("upload", str(photos))
    assert "not listed: 2 new (--json lists every file)" in first.stdout
    assert sum(1 for line in first.stdout.splitlines() if "│ new" in line) == 3

    second = await run("upload", str(photos))
    assert second.stdout.splitlines() == [
        "not listed: 5 already stored (--json lists every file)",
        "0 new, 5 already stored, 0 failed",
    ]


async def test_a_near_duplicate_is_named_in_its_row(run: Run, tmp_path: Path) -> None:
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    original = photos / "a.jpg"
    original.write_bytes(make_image(size=(640, 480), seed=11))
    first = json.loads((await run("upload", "--json", str(original))).stdout)
    Image.open(original).resize((320, 240)).save(photos / "b_small.jpg", quality=40)

    result = await run("upload", str(photos / "b_small.jpg"))

    assert f"new — looks like {first[0]['image_id']}" in result.stdout


async def test_a_damaged_digest_cache_is_a_warning(
    run: Run, tmp_path: Path, digest_cache_dir: Path
) -> None:
    digest_cache_dir.mkdir()
    (digest_cache_dir / "digests.sqlite").write_bytes(b"not a database" * 100)
    photos = tree(tmp_path / "photos", ["a.jpg"])
    result = await run("upload", str(photos))
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: digest cache ")
    assert "1 new, 0 already stored, 0 failed" in result.stdout


async def test_the_seed_script_gets_the_same_options(run: Run, wire: Wire, tmp_path: Path) -> None:
    photos = tree(tmp_path / "photos", ["a.jpg", "raw/b.jpg"])
    argv = ["--default-dir", str(photos), "--dry-run", "--exclude", "raw/*", "--url", BASE_URL]

    def seed() -> int:
        with pytest.raises(SystemExit) as exited:
            cli.run_command("upload", argv, prog_name="post_client.py")
        return int(exited.value.code or 0)

    assert await asyncio.to_thread(seed) == 0
    assert wire.requests[UPLOAD] == 0


@pytest.mark.skipif(not (EXIF_SAMPLES / "jpg" / "gps").is_dir(), reason="no shared EXIF samples")
async def test_show_spells_out_the_photo_metadata(run: Run, tmp_path: Path) -> None:
    sample = tmp_path / "DSCN0010.jpg"
    shutil.copy(EXIF_SAMPLES / "jpg" / "gps" / "DSCN0010.jpg", sample)
    uploaded = json.loads((await run("upload", "--json", str(sample))).stdout)

    result = await run("show", uploaded[0]["image_id"])

    assert result.exit_code == 0, result.output
    rows = {
        line.split("  ", 1)[0]: line.split("  ", 1)[1].strip()
        for line in result.stdout.splitlines()
        if "  " in line
    }
    assert rows["taken_at"] == "2008-10-22 16:28:39"
    assert rows["camera"] == "NIKON COOLPIX P6000"
    assert rows["exposure"] == "1/75 s · f/5.9 · ISO 64 · 24 mm (112 mm in 35 mm)"
    assert rows["location"] == "43.467448, 11.885127"  # the owner sees where
    assert "metadata" not in rows
