"""Which files a bulk upload sends: every --file and --dir, recursion, and what is left out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from imagerepo.client.selection import FolderRules, collect, looks_like_image


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A photo folder with the usual clutter around the images."""
    root = tmp_path / "photos"
    for name in [
        "b.jpg",
        "a.PNG",
        "notes.txt",
        "2024/z.webp",
        "2024/c.heic",
        "2024/deeper/d.JPEG",
        "2023/x.gif",
        ".hidden.jpg",
        ".thumbnails/t.jpg",
        "2024/.git/objects/o.png",
    ]:
        touch(root / name)
    return root


def names(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_a_folder_is_walked_recursively_in_sorted_order(tree: Path) -> None:
    selection = collect(dirs=[tree])
    assert names(selection.files, tree) == [
        "2023/x.gif",
        "2024/c.heic",
        "2024/deeper/d.JPEG",
        "2024/z.webp",
        "a.PNG",
        "b.jpg",
    ]
    assert selection.errors == []


def test_the_walk_is_deterministic(tree: Path) -> None:
    assert collect(dirs=[tree]).files == collect(dirs=[tree]).files


def test_hidden_files_and_folders_are_skipped_and_counted(tree: Path) -> None:
    selection = collect(dirs=[tree])
    assert not any(part.startswith(".") for p in selection.files for part in p.parts[-3:])
    hidden = sorted(names([p for p, why in selection.skipped if why == "hidden"], tree))
    assert hidden == [".hidden.jpg", ".thumbnails", "2024/.git"]


def test_non_images_in_folders_are_skipped_and_counted(tree: Path) -> None:
    selection = collect(dirs=[tree])
    assert (tree / "notes.txt", "not an image file name") in selection.skipped


def test_every_repeated_file_and_dir_is_used(tmp_path: Path) -> None:
    one, two = touch(tmp_path / "one.jpg"), touch(tmp_path / "two.png")
    first, second = tmp_path / "d1", tmp_path / "d2"
    in_first, in_second = touch(first / "x.jpg"), touch(second / "y.jpg")
    selection = collect(files=[one, two], dirs=[first, second])
    assert selection.files == [one, two, in_first, in_second]


def test_an_explicit_file_is_sent_whatever_its_name(tmp_path: Path) -> None:
    odd = touch(tmp_path / "scan.raw")
    hidden = touch(tmp_path / ".secret.jpg")
    assert collect(files=[odd, hidden]).files == [odd, hidden]


def test_an_explicitly_named_hidden_folder_is_walked(tmp_path: Path) -> None:
    image = touch(tmp_path / ".photos" / "p.jpg")
    assert collect(dirs=[tmp_path / ".photos"]).files == [image]


def test_positional_paths_may_be_files_or_folders(tree: Path, tmp_path: Path) -> None:
    single = touch(tmp_path / "single.txt")
    selection = collect(paths=[single, tree / "2024"])
    assert selection.files[0] == single
    assert names(selection.files[1:], tree) == ["2024/c.heic", "2024/deeper/d.JPEG", "2024/z.webp"]


def test_a_file_reached_twice_is_sent_once(tree: Path) -> None:
    selection = collect(files=[tree / "b.jpg"], dirs=[tree, tree / "2024"])
    assert selection.files.count(tree / "b.jpg") == 1
    assert len(selection.files) == len(set(selection.files)) == 6


def test_missing_inputs_are_errors_and_the_rest_still_collected(tree: Path) -> None:
    selection = collect(
        files=[tree / "nope.jpg", tree / "2024"], dirs=[tree / "missing", tree / "b.jpg", tree]
    )
    assert selection.errors == [
        (tree / "nope.jpg", "no such file"),
        (tree / "2024", "is a folder (use --dir)"),
        (tree / "missing", "no such folder"),
        (tree / "b.jpg", "not a folder"),
    ]
    assert len(selection.files) == 6


def test_symlinks_are_not_followed_out_of_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    inside = touch(root / "real.jpg")
    outside = touch(tmp_path / "elsewhere" / "secret.jpg")
    (root / "escape.jpg").symlink_to(outside)
    (root / "escape_dir").symlink_to(outside.parent, target_is_directory=True)
    (root / "alias.jpg").symlink_to(inside)
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "broken.jpg").symlink_to(tmp_path / "gone.jpg")

    selection = collect(dirs=[root])

    assert selection.files == [root / "alias.jpg"]  # alias and real.jpg are one file: sent once
    assert dict(selection.skipped) == {
        root / "escape.jpg": "symlink pointing outside the folder",
        root / "escape_dir": "symlink to a folder, not followed",
        root / "loop": "symlink to a folder, not followed",
        root / "broken.jpg": "broken symlink",
    }


def test_an_explicit_symlinked_file_is_sent(tmp_path: Path) -> None:
    target = touch(tmp_path / "elsewhere" / "a.jpg")
    link = tmp_path / "link.jpg"
    link.symlink_to(target)
    assert collect(files=[link]).files == [link]


def test_an_unreadable_subfolder_is_an_error_not_a_crash(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tree / "2024"
    real_scandir = os.scandir

    def scandir(path: Path) -> Any:
        if Path(path) == locked:  # chmod 0 would not stop root, who runs these tests in CI
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    selection = collect(dirs=[tree])
    assert selection.errors == [(locked, "cannot read folder: Permission denied")]
    assert names(selection.files, tree) == ["2023/x.gif", "a.PNG", "b.jpg"]


@pytest.mark.parametrize(
    "name",
    [
        "a.jpg",
        "a.JPG",
        "a.jpeg",
        "a.png",
        "a.gif",
        "a.webp",
        "a.tif",
        "a.TIFF",
        "a.heic",
        "a.HEIF",
        "a.avif",
        "a.bmp",
    ],
)
def test_image_extensions(name: str) -> None:
    assert looks_like_image(Path(name))


@pytest.mark.parametrize("name", ["a.txt", "a.jpg.part", "jpg", "a.svg", "a", "a.mov"])
def test_not_image_extensions(name: str) -> None:
    assert not looks_like_image(Path(name))


# -- --include / --exclude ----------------------------------------------------------------------


def walk(root: Path, include: list[str] = [], exclude: list[str] = []) -> list[str]:  # noqa: B006
    return names(collect(dirs=[root], rules=FolderRules(include, exclude)).files, root)


@pytest.fixture
def shoot(tmp_path: Path) -> Path:
    root = tmp_path / "shoot"
    for name in ["a.jpg", "b.PNG", "raw/r.jpg", "2024/raw/r2.jpg", "2024/x.JPG", "2024/y.gif"]:
        touch(root / name)
    return root


def test_exclude_star_slash_means_at_any_depth(shoot: Path) -> None:
    assert walk(shoot, exclude=["*/raw/*"]) == ["2024/x.JPG", "2024/y.gif", "a.jpg", "b.PNG"]


def test_a_pattern_without_a_leading_star_is_relative_to_the_folder(shoot: Path) -> None:
    assert walk(shoot, exclude=["raw/*"]) == [
        "2024/raw/r2.jpg",
        "2024/x.JPG",
        "2024/y.gif",
        "a.jpg",
        "b.PNG",
    ]


def test_include_narrows_case_insensitively(shoot: Path) -> None:
    assert walk(shoot, include=["*.jpg"]) == ["2024/raw/r2.jpg", "2024/x.JPG", "a.jpg", "raw/r.jpg"]
    assert walk(shoot, include=["*.jpg", "*.png"], exclude=["*/raw/*"]) == [
        "2024/x.JPG",
        "a.jpg",
        "b.PNG",
    ]


def test_what_the_rules_leave_out_is_counted(shoot: Path) -> None:
    selection = collect(dirs=[shoot], rules=FolderRules(["*.jpg"], ["*/raw/*"]))
    assert sorted((p.relative_to(shoot).as_posix(), why) for p, why in selection.skipped) == [
        ("2024/raw", "excluded by --exclude"),  # a whole folder: not even walked
        ("2024/y.gif", "not matched by --include"),
        ("b.PNG", "not matched by --include"),
        ("raw", "excluded by --exclude"),
    ]


def test_a_folder_is_pruned_only_when_all_below_it_would_be_excluded(
    shoot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = FolderRules(exclude=["*/raw/*", "*/raw/", "*.gif"])
    assert rules.prunes("raw") and rules.prunes("2024/raw")
    assert not rules.prunes("2024")  # "*/raw/" names no file below 2024/, nor does "*.gif"
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path: Path) -> Any:
        listed.append(Path(path).relative_to(shoot).as_posix())
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    collect(dirs=[shoot], rules=rules)
    assert listed == [".", "2024"]


def test_explicit_files_are_not_filtered(shoot: Path) -> None:
    rules = FolderRules(include=["*.png"], exclude=["*"])
    assert collect(files=[shoot / "a.jpg"], rules=rules).files == [shoot / "a.jpg"]
