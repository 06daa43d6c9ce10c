"""The bulk uploader: pick the files, send them N at a time, report each one.

Two fixes over the 2021 client shape this module:
- every `--file` and `--dir` given is used (it kept only the first of each);
- at most `concurrency` files are open at once. It opened every file before taking its semaphore
  and died at `ulimit -n 256`; here a fixed pool of N workers pulls paths from one iterator and each
  opens its file only when it is about to send it, so 100 000 files cost N tasks, not 100 000.

One bad file never stops the rest: its error becomes a "failed" row. Only a refused connection
stops the run, because then every remaining file would fail the same way; those are reported
"not sent".
"""

from __future__ import annotations

import asyncio
import enum
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from imagerepo.client.api import ImageRepoClient
from imagerepo.client.schemas import ImageJSON, Visibility
from imagerepo.errors import ImageRepoError, TransportError

DEFAULT_CONCURRENCY = 8
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".bmp"}
)


# -- choosing the files ---------------------------------------------------------------------


@dataclass(slots=True)
class Selection:
    """The files to send, in order, and what was left out or could not be read, with why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)


def looks_like_image(path: Path) -> bool:
    """By extension only; the server decodes the bytes and has the last word."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def collect(
    files: Iterable[Path] = (), dirs: Iterable[Path] = (), paths: Iterable[Path] = ()
) -> Selection:
    """Every file to upload, deterministic and without duplicates.

    `files` are always sent whatever their name (the server decides); `dirs` are walked
    recursively in sorted order, taking only image-looking, non-hidden files and never following a
    symlink out of the folder; `paths` are either, by what they are on disk. A file reached twice
    (listed and inside a listed folder, or by a symlink) is sent once.
    """
    selection = Selection()
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            selection.files.append(path)

    given = [(p, p.is_dir()) for p in paths]
    for path in [*files, *(p for p, is_dir in given if not is_dir)]:
        if path.is_file():
            add(path)
        elif path.is_dir():
            selection.errors.append((path, "is a folder (use --dir)"))
        else:
            selection.errors.append((path, "no such file"))
    for folder in [*dirs, *(p for p, is_dir in given if is_dir)]:
        if not folder.is_dir():
            reason = "not a folder" if folder.exists() else "no such folder"
            selection.errors.append((folder, reason))
            continue
        for path in _walk(folder, selection):
            add(path)
    return selection


def _walk(root: Path, selection: Selection) -> Iterator[Path]:
    """Image files under `root` in sorted path order (a folder's contents where its name sorts).

    A stack of per-folder listings instead of recursion: any depth, and only sorted name lists
    are held, never an open directory handle per level.
    """
    real_root = root.resolve()
    stack = [iter(_listing(root, selection))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        path = Path(entry.path)
        if entry.name.startswith("."):
            # .git, .thumbnails, .DS_Store: never the user's photos; not even walked.
            selection.skipped.append((path, "hidden"))
            continue
        if entry.is_symlink():
            reason = _symlink_problem(path, real_root)
            if reason:
                selection.skipped.append((path, reason))
                continue
        if entry.is_dir():
            stack.append(iter(_listing(path, selection)))
        elif not entry.is_file():
            selection.skipped.append((path, "not a regular file"))
        elif looks_like_image(path):
            yield path
        else:
            selection.skipped.append((path, "not an image file name"))


def _listing(folder: Path, selection: Selection) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as exc:
        selection.errors.append((folder, f"cannot read folder: {exc.strerror or exc}"))
        return []


def _symlink_problem(path: Path, real_root: Path) -> str | None:
    """Why a symlink inside a walked folder is not followed, or None if it may be."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "broken symlink"
    if target.is_dir():
        # Its target, if inside the folder, is walked anyway; following it could loop.
        return "symlink to a folder, not followed"
    if not target.is_relative_to(real_root):
        return "symlink pointing outside the folder"
    return None


# -- sending them -----------------------------------------------------------------------------


class Status(enum.StrEnum):
    NEW = "new"
    STORED = "already stored"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FileResult:
    path: Path
    status: Status
    image: ImageJSON | None = None
    error: str | None = None


@dataclass(slots=True)
class UploadReport:
    results: list[FileResult]
    skipped: list[tuple[Path, str]]

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def ok(self) -> bool:
        """False if any file failed: the CLI exits non-zero."""
        return self.count(Status.FAILED) == 0

    def summary(self) -> str:
        line = (
            f"{self.count(Status.NEW)} new, {self.count(Status.STORED)} already stored, "
            f"{self.count(Status.FAILED)} failed"
        )
        if self.skipped:
            reasons = Counter(why for _, why in self.skipped)
            detail = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))
            line += f"; {len(self.skipped)} skipped ({detail})"
        return line


async def upload_all(
    client: ImageRepoClient,
    selection: Selection,
    *,
    description: str = "",
    visibility: Visibility = "public",
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> UploadReport:
    """Upload `selection.files` with at most `concurrency` in flight; results keep input order."""
    files = selection.files
    results: list[FileResult | None] = [None] * len(files)
    queue = iter(enumerate(files))  # one shared iterator is the queue: workers never race on it
    stopped: list[str] = []
    task = progress.add_task("uploading", total=len(files)) if progress else None

    async def worker() -> None:
        for index, path in queue:
            if stopped:
                results[index] = FileResult(path, Status.FAILED, error=f"not sent: {stopped[0]}")
            else:
                results[index], unreachable = await _upload_one(
                    client, path, description, visibility
                )
                if unreachable:
                    stopped.append("the server is unreachable")
            if progress is not None and task is not None:
                progress.advance(task)

    workers = max(1, min(concurrency, len(files)))
    await asyncio.gather(*(worker() for _ in range(workers)))
    done = [FileResult(p, Status.FAILED, error=why) for p, why in selection.errors]
    done.extend(r for r in results if r is not None)
    return UploadReport(results=done, skipped=selection.skipped)


async def _upload_one(
    client: ImageRepoClient, path: Path, description: str, visibility: Visibility
) -> tuple[FileResult, bool]:
    """The result for one file, and whether the server could not be reached at all."""
    try:
        answer = await client.upload(path, description=description, visibility=visibility)
    except TransportError as exc:
        unreachable = exc.context.get("kind") == "connect"
        return FileResult(path, Status.FAILED, error=exc.message), unreachable
    except ImageRepoError as exc:
        return FileResult(path, Status.FAILED, error=exc.message), False
    except OSError as exc:
        return FileResult(path, Status.FAILED, error=exc.strerror or str(exc)), False
    status = Status.NEW if answer.created else Status.STORED
    return FileResult(path, status, image=answer.image), False


def make_progress(console: Console, *, quiet: bool) -> Progress:
    """A progress bar on `console`, drawn only on a terminal and without `--quiet`."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
        transient=True,
    )
