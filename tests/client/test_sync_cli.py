"""`imagerepo upload` and `show` as a user runs them, against the real app in this process
(the `run` fixture, see tests/client/conftest.py)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from imagerepo import cli
from imagerepo.client import render
from tests.client.conftest import BASE_URL, UPLOAD, Run, Wire, tree
from tests.images import EXIF_SAMPLES, make_image


async def test_upload_twice(run: Run, wire: Wire, tmp_path: Path) -> None:
    photos = tree(tmp_path / "photos", ["a.jpg", "2024/b.jpg", "2024/c.png", "notes.txt"])

    first = await run("upload", str(photos))
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-2:] == [
        "3 new, 0 updated, 0 already stored, 0 failed",
        "skipped: 1 not an image file name",
    ]
    wire.reset()

    second = await run("upload", str(photos))
    assert second.exit_code == 0, second.output
    assert "0 new, 0 updated, 3 already stored, 0 failed" in second.stdout
    assert wire.image_bytes == 0


async def test_dry_run_lists_what_would_be_sent(run: Run, wire: Wire, tmp_path: Path) -> None:
    photos = tree(tmp_path / "photos", ["a.jpg", "b.jpg", "c.jpg"])
    assert (await run("upload", str(photos / "a.jpg"))).exit_code == 0
    wire.reset()

    result = await run("upload", "--dry-run", str(photos))

    assert result.exit_code == 0, result.output
    assert wire.requests[UPLOAD] == 0
    lines = result.stdout.splitlines()
    assert (
        lines[-1] == "dry run: 2 to send, 0 to update, 1 already stored, 0 failed; nothing was sent"
    )
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
        "0 new, 0 updated, 5 already stored, 0 failed",
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
    assert "1 new, 0 updated, 0 already stored, 0 failed" in result.stdout


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
