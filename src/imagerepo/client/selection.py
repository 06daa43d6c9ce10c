"""Which local files an upload considers: walking folders, and what is left out and why.

`collect` turns what the user named (`--file`, `--dir`, positional paths) into one ordered list
without duplicates. Folder walks are recursive and sorted, skip hidden entries, never follow a
symlink out of the folder, take only image-looking names, and apply `--include`/`--exclude`
(`FolderRules`). Everything left out is recorded with its reason, so the summary can count it.

It is called on the 10 000-file re-sync path, so a walked file costs one `scandir` entry and
string work only: its identity for de-duplication is derived from the folder's real path rather
than by resolving every file (`Path.resolve` is an `lstat` per path component).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".bmp"}
)

EXCLUDED = "excluded by --exclude"
NOT_INCLUDED = "not matched by --include"


@dataclass(slots=True)
class Selection:
    """The files to send, in order, and what was left out or could not be read, with why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FolderRules:
    """`--include` / `--exclude` globs, matched against a path relative to the folder walked.

    Shell-style (`fnmatch`) and case-insensitive, like the extension check; `*` also matches `/`.
    A path is tried as `2024/raw/a.jpg` and as `/2024/raw/a.jpg`, so `*/raw/*` leaves out every
    `raw` folder, the top-level one included, while `raw/*` (or `/raw/*`) means the top-level one
    only; `*.jpg` is every JPEG at any depth. A file is taken when it matches no exclude and, if
    any include is given, at least one include. Files named explicitly (`--file`) are not
    filtered; the extension check still applies before these rules.
    """

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "include", tuple(p.lower() for p in self.include))
        object.__setattr__(self, "exclude", tuple(p.lower() for p in self.exclude))

    def file_problem(self, relative: str) -> str | None:
        """Why the file at `relative` (POSIX, from the walked folder) is left out, or None."""
        if any(_matches(relative, pattern) for pattern in self.exclude):
            return EXCLUDED
        if self.include and not any(_matches(relative, pattern) for pattern in self.include):
            return NOT_INCLUDED
        return None

    def prunes(self, relative_dir: str) -> bool:
        """True if every file below this folder would be excluded, so it need not be walked.

        Only patterns ending in `*` can say so: if `dir/` matches `P*`, so does `dir/anything`.
        """
        return any(p.endswith("*") and _matches(relative_dir + "/", p) for p in self.exclude)


def _matches(relative: str, pattern: str) -> bool:
    name = relative.lower()
    return fnmatchcase(name, pattern) or fnmatchcase("/" + name, pattern)


NO_RULES = FolderRules()


def looks_like_image(path: Path | str) -> bool:
    """By extension only; the server decodes the bytes and has the last word."""
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def collect(
    files: Iterable[Path] = (),
    dirs: Iterable[Path] = (),
    paths: Iterable[Path] = (),
    *,
    rules: FolderRules = NO_RULES,
) -> Selection:
    """Every file to upload, deterministic and without duplicates.

    `files` are always sent whatever their name (the server decides); `dirs` are walked
    recursively in sorted order, taking only image-looking, non-hidden files that pass `rules`
    and never following a symlink out of the folder; `paths` are either, by what they are on disk.
    A file reached twice (listed and inside a listed folder, or by a symlink) is sent once.
    """
    selection = Selection()
    seen: set[str] = set()

    def add(path: Path, real: str) -> None:
        if real not in seen:
            seen.add(real)
            selection.files.append(path)

    given = [(p, p.is_dir()) for p in paths]
    for path in [*files, *(p for p, is_dir in given if not is_dir)]:
        if path.is_file():
            add(path, os.path.realpath(path))
        elif path.is_dir():
            selection.errors.append((path, "is a folder (use --dir)"))
        else:
            selection.errors.append((path, "no such file"))
    for folder in [*dirs, *(p for p, is_dir in given if is_dir)]:
        if not folder.is_dir():
            reason = "not a folder" if folder.exists() else "no such folder"
            selection.errors.append((folder, reason))
            continue
        for path, real in _walk(folder, selection, rules):
            add(path, real)
    return selection


def _walk(root: Path, selection: Selection, rules: FolderRules) -> Iterator[tuple[Path, str]]:
    """Image files under `root` in sorted path order, each with its real path.

    A stack of per-folder listings instead of recursion: any depth, and only sorted name lists
    are held, never an open directory handle per level. Folders entered are never symlinks, so a
    regular file's real path is the root's real path plus its relative path, with no syscall.
    """
    real_root = os.path.realpath(root)
    real_prefix = real_root.rstrip("/") + "/"
    stack = [(iter(_listing(root, selection)), "")]
    while stack:
        entries, prefix = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        path = Path(entry.path)
        relative = prefix + entry.name
        if entry.name.startswith("."):
            # .git, .thumbnails, .DS_Store: never the user's photos; not even walked.
            selection.skipped.append((path, "hidden"))
            continue
        real = real_prefix + relative
        if entry.is_symlink():
            reason, real = _symlink_target(path, real_root)
            if reason:
                selection.skipped.append((path, reason))
                continue
        if entry.is_dir():
            if rules.prunes(relative):
                selection.skipped.append((path, EXCLUDED))
            else:
                stack.append((iter(_listing(path, selection)), relative + "/"))
        elif not entry.is_file():
            selection.skipped.append((path, "not a regular file"))
        elif not looks_like_image(entry.name):
            selection.skipped.append((path, "not an image file name"))
        elif problem := rules.file_problem(relative):
            selection.skipped.append((path, problem))
        else:
            yield path, real


def _listing(folder: Path, selection: Selection) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as exc:
        selection.errors.append((folder, f"cannot read folder: {exc.strerror or exc}"))
        return []


def _symlink_target(path: Path, real_root: str) -> tuple[str | None, str]:
    """Why a symlink inside a walked folder is not followed (None if it may be), and its target."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "broken symlink", ""
    if target.is_dir():
        # Its target, if inside the folder, is walked anyway; following it could loop.
        return "symlink to a folder, not followed", ""
    if not target.is_relative_to(real_root):
        return "symlink pointing outside the folder", ""
    return None, str(target)
