"""`imagerepo get`: where the bytes go, and one clear line when they cannot go there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from imagerepo.client.api import ImageRepoClient
from tests.client.conftest import Run, tree


@pytest.fixture
async def uploaded(run: Run, tmp_path: Path) -> tuple[str, bytes]:
    """One image on the server: its id and its bytes."""
    photo = tree(tmp_path / "photos", ["cat.jpg"]) / "cat.jpg"
    result = await run("upload", "--json", str(photo))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)[0]["image_id"], photo.read_bytes()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


async def test_a_missing_folder_is_one_line_and_leaves_nothing(
    run: Run, uploaded: tuple[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id, _ = uploaded
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for output, folder in [("missing/dir/x.jpg", "missing/dir"), ("missing/dir/", "missing/dir")]:
        result = await run("get", image_id, "-o", output)
        assert result.exit_code == 1
        assert result.stderr == f"error: folder {folder} does not exist\n"
        assert result.stdout == ""
    (work / "a-file").write_text("not a folder")
    result = await run("get", image_id, "-o", "a-file/x.jpg")
    assert result.stderr == "error: folder a-file is not a folder\n"
    assert files_under(work) == ["a-file"]


async def test_the_client_names_the_folder_not_its_temp_file(
    client: ImageRepoClient, uploaded: tuple[str, bytes], tmp_path: Path
) -> None:
    image_id, _ = uploaded
    gone = tmp_path / "gone"
    with pytest.raises(FileNotFoundError) as raised:
        await client.download(image_id, gone / "x.jpg")
    assert raised.value.filename is None
    assert raised.value.strerror == f"folder {gone} does not exist"
    assert not gone.exists()


async def test_into_a_folder_and_to_a_file(
    run: Run, uploaded: tuple[str, bytes], tmp_path: Path
) -> None:
    image_id, data = uploaded
    out = tmp_path / "out"
    out.mkdir()
    into_folder = await run("get", image_id, "-o", str(out))
    assert into_folder.exit_code == 0, into_folder.output
    assert (out / "cat.jpg").read_bytes() == data
    again = await run("get", image_id, "-o", str(out / "cat.jpg"))
    assert again.exit_code == 1 and "already exists (use --force" in again.stderr
    renamed = await run("get", image_id, "-o", str(out / "other.jpg"))
    assert renamed.stdout == f"saved {out / 'other.jpg'}\n"
    assert files_under(out) == ["cat.jpg", "other.jpg"]


async def test_dash_writes_only_the_bytes_to_stdout(
    run: Run, uploaded: tuple[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id, data = uploaded
    work = tmp_path / "work"  # not tmp_path itself: the server's jobs write into its data dir
    work.mkdir()
    monkeypatch.chdir(work)
    before = files_under(work)
    result = await run("get", image_id, "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == data
    assert files_under(work) == before  # no file named "-"
    assert not os.path.exists(work / "-")


async def test_dash_for_an_unknown_id_is_an_error_and_no_bytes(run: Run) -> None:
    result = await run("get", "no-such-image", "-o", "-")
    assert result.exit_code == 1
    assert result.stdout_bytes == b""
    assert result.stderr.startswith("error: ")
