"""Bulk sync: hash locally, ask the server what it lacks, send only that, report every file.

    collect (selection.py) → digests (digests.py, with the local cache) → POST /images/check
    → upload the missing ones, N at a time → one result per file

Flags the user gave win: with an explicit `visibility` or `description`, a file the server already
has is compared with what `/check` says is stored, and PATCHed where it differs ("updated");
without one, nothing stored changes and new files are sent with no such field (public).

A re-sync of a folder the server already has therefore reads no file (the digest cache knows
them) and sends no image bytes: one `/check` request per 5 000 files. Files with identical bytes
in one run are sent once; the others are reported "already stored" with the one that was sent.
The server's own de-duplication stays the safety net: an upload it answers 200 is "already
stored" too.

Sending: a fixed pool of `concurrency` workers pulls from one iterator and each opens its file
only when it is about to send it, so at most `concurrency` files are open (the 2021 client opened
them all and died at `ulimit -n 256`). Transient failures are retried inside `ImageRepoClient`.
One bad file never stops the rest: its error becomes a "failed" row. Only a server that stays
unreachable stops the run, because then every remaining file would fail the same way; those are
reported "not sent".
"""

from __future__ import annotations

import asyncio
import enum
import functools
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, cast

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from imagerepo.client.api import ImageRepoClient
from imagerepo.client.digest_cache import DigestCache
from imagerepo.client.digests import local_digests
from imagerepo.client.direct import DirectUploader
from imagerepo.client.schemas import (
    DigestCheck,
    ImageJSON,
    NearDuplicateJSON,
    StoredImageJSON,
    Visibility,
)
from imagerepo.client.selection import Selection
from imagerepo.errors import ImageRepoError, TransportError

DEFAULT_CONCURRENCY = 8


class Status(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"  # already stored; the flags given changed it
    STORED = "already stored"
    FAILED = "failed"
    WOULD_SEND = "would send"  # --dry-run
    WOULD_UPDATE = "would update"  # --dry-run


@dataclass(frozen=True, slots=True)
class FileResult:
    path: Path
    status: Status
    image: ImageJSON | None = None  # the server's answer, for files sent in this run
    error: str | None = None
    sha256: str | None = None
    image_id: str | None = None
    note: str | None = None  # e.g. "same bytes as photos/a.jpg"
    near_duplicates: tuple[NearDuplicateJSON, ...] = ()


@dataclass(slots=True)
class UploadReport:
    results: list[FileResult]
    skipped: list[tuple[Path, str]]
    dry_run: bool = False
    hashed: int = 0  # files read to hash them in this run
    from_cache: int = 0  # files whose digest the local cache knew
    notes: list[str] = field(default_factory=list)  # warnings that failed no file

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def ok(self) -> bool:
        """False if any file failed: the CLI exits non-zero."""
        return self.count(Status.FAILED) == 0

    def summary(self) -> str:
        """`812 new, 3 updated, 9 185 already stored, 0 failed`, then skipped files by reason."""
        n = {status: _number(self.count(status)) for status in Status}
        stored, failed = n[Status.STORED], n[Status.FAILED]
        if self.dry_run:
            line = (
                f"dry run: {n[Status.WOULD_SEND]} to send, {n[Status.WOULD_UPDATE]} to update,"
                f" {stored} already stored, {failed} failed; nothing was sent"
            )
        else:
            line = f"{n[Status.NEW]} new, {n[Status.UPDATED]} updated, {stored} already stored,"
            line += f" {failed} failed"
        if self.skipped:
            reasons = Counter(why for _, why in self.skipped)
            detail = ", ".join(f"{_number(n)} {why}" for why, n in sorted(reasons.items()))
            line += f"\nskipped: {detail}"
        return line


def _number(n: int) -> str:
    """9 188: thousands apart with a space, as people write them (programs read `--json`)."""
    return f"{n:,}".replace(",", " ")


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the user asked for explicitly; None: leave it as it is (new images: public, "")."""

    visibility: Visibility | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()  # given to new images only

    def changes(self, stored: StoredImageJSON | None) -> dict[str, str]:
        """The fields to set on a stored image (all that were given, if its state is unknown)."""
        given = {"visibility": self.visibility, "description": self.description}
        return {
            k: v
            for k, v in given.items()
            if v is not None and (stored is None or stored.get(k) != v)
        }


async def upload_all(
    client: ImageRepoClient,
    selection: Selection,
    *,
    description: str | None = None,
    visibility: Visibility | None = None,
    tags: Sequence[str] = (),
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    cache: DigestCache | None = None,
    rehash: bool = False,
    dry_run: bool = False,
    direct: bool = False,
) -> UploadReport:
    """Sync `selection.files` to the server; results keep input order.

    `description` and `visibility`, when given, are sent with new files and applied to the
    stored ones that differ; `tags` go with new files only. `cache` remembers digests between
    runs (None: hash every file, remember nothing). With `dry_run` everything up to the
    server's answer to `/check` happens, and nothing is sent. With `direct`, new files go
    straight to the server's S3 bucket (`client/direct.py`), or the usual way if it has none.
    Raises `ImageRepoError` only if `/check` itself fails (then nothing could be decided).
    """
    wanted = Wanted(visibility=visibility, description=description, tags=tuple(tags))
    files = selection.files
    hashing = _Bar(progress, "hashing", len(files))
    local = await local_digests(
        files,
        cache=cache if cache is not None else DigestCache.disabled(),
        concurrency=concurrency,
        rehash=rehash,
        advance=hashing.advance,
    )
    hashing.done()

    results: list[FileResult | None] = [None] * len(files)
    first_with: dict[str, int] = {}  # digest → the first file with those bytes
    copies: list[tuple[int, int]] = []  # (file, the earlier file with the same bytes)
    for index, (path, digest) in enumerate(zip(files, local, strict=True)):
        if digest.sha256 is None:
            results[index] = FileResult(path, Status.FAILED, error=digest.error)
        elif digest.sha256 in first_with:
            copies.append((index, first_with[digest.sha256]))
        else:
            first_with[digest.sha256] = index

    check = await client.check_digests(list(first_with)) if first_with else DigestCheck({}, [])
    uploader = DirectUploader(client) if direct else None
    jobs: list[tuple[int, str, Job]] = []
    for sha256, index in first_with.items():
        path = files[index]
        image_id = check.existing.get(sha256)
        changes = wanted.changes(check.images.get(sha256)) if image_id is not None else {}
        if image_id is not None and not changes:
            results[index] = FileResult(path, Status.STORED, sha256=sha256, image_id=image_id)
        elif dry_run:
            status = Status.WOULD_SEND if image_id is None else Status.WOULD_UPDATE
            results[index] = FileResult(path, status, sha256=sha256, image_id=image_id)
        elif image_id is None:
            jobs.append(
                (
                    index,
                    sha256,
                    functools.partial(_upload_one, client, path, sha256, wanted, uploader),
                )
            )
        else:
            update = functools.partial(_update_one, client, path, sha256, image_id, changes)
            jobs.append((index, sha256, update))

    if jobs:
        try:
            await _run_all(jobs, files, results, concurrency, progress)
        finally:
            if uploader is not None:
                await uploader.aclose()
    for index, first in copies:
        results[index] = _copy_of(files[index], files[first], results[first])

    done = [FileResult(p, Status.FAILED, error=why) for p, why in selection.errors]
    done.extend(r for r in results if r is not None)
    cached = sum(1 for d in local if d.cached)
    return UploadReport(
        results=done,
        skipped=selection.skipped,
        dry_run=dry_run,
        hashed=sum(1 for d in local if d.sha256 is not None) - cached,
        from_cache=cached,
        notes=[cache.problem] if cache is not None and cache.problem else [],
    )


# One file's upload or update: its result, and whether the server could not be reached at all.
Job = Callable[[], Awaitable[tuple[FileResult, bool]]]


async def _run_all(
    jobs: list[tuple[int, str, Job]],
    files: list[Path],
    results: list[FileResult | None],
    concurrency: int,
    progress: Progress | None,
) -> None:
    queue = iter(jobs)  # one shared iterator is the queue: workers never race on it
    stopped: list[str] = []
    bar = _Bar(progress, "uploading", len(jobs))

    async def worker() -> None:
        for index, digest, job in queue:
            if stopped:
                results[index] = FileResult(
                    files[index], Status.FAILED, sha256=digest, error=f"not sent: {stopped[0]}"
                )
            else:
                results[index], unreachable = await job()
                if unreachable:
                    stopped.append("the server is unreachable")
            bar.advance(1)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(jobs))))))
    bar.done()


class Flags(TypedDict):
    description: str | None
    visibility: Visibility | None


async def _upload_one(
    client: ImageRepoClient,
    path: Path,
    digest: str,
    wanted: Wanted,
    direct: DirectUploader | None = None,
) -> tuple[FileResult, bool]:
    try:
        flags = Flags(description=wanted.description, visibility=wanted.visibility)
        if direct is not None:
            answer = await direct.upload(path, sha256=digest, tags=wanted.tags, **flags)
        else:
            extra = {"tags": wanted.tags} if wanted.tags else {}  # no tags: the call as it was
            answer = await client.upload(path, **flags, **extra)
    except (ImageRepoError, OSError) as exc:
        return _failed(path, digest, exc)
    image = answer.image
    sent = str(image.get("sha256", digest))
    return FileResult(
        path,
        _UPLOAD_STATUS[answer.outcome],
        image=image,
        sha256=sent,
        image_id=str(image.get("id", "")) or None,
        note=None if sent == digest else "the file changed while it was being sent",
        near_duplicates=tuple(answer.near_duplicates),
    ), False


_UPLOAD_STATUS = {"created": Status.NEW, "updated": Status.UPDATED, "unchanged": Status.STORED}


async def _update_one(
    client: ImageRepoClient, path: Path, digest: str, image_id: str, changes: dict[str, str]
) -> tuple[FileResult, bool]:
    """Apply the flags given to an image the server already has (sends no image bytes)."""
    try:
        image = await client.update_image(
            image_id,
            description=changes.get("description"),
            visibility=cast(Visibility | None, changes.get("visibility")),
        )
    except ImageRepoError as exc:
        return _failed(path, digest, exc)
    return FileResult(path, Status.UPDATED, image=image, sha256=digest, image_id=image_id), False


def _failed(path: Path, digest: str, exc: ImageRepoError | OSError) -> tuple[FileResult, bool]:
    """A failed row; and True when the server could not be reached at all."""
    if isinstance(exc, OSError):
        return FileResult(path, Status.FAILED, sha256=digest, error=exc.strerror or str(exc)), False
    unreachable = isinstance(exc, TransportError) and exc.context.get("kind") == "connect"
    return FileResult(path, Status.FAILED, sha256=digest, error=exc.message), unreachable


def _copy_of(path: Path, first: Path, sent: FileResult | None) -> FileResult:
    """A file with the same bytes as `first`, which was (or was not) sent in its place."""
    same = f"same bytes as {first}"
    if sent is None or sent.status is Status.FAILED:
        why = sent.error if sent is not None else "not sent"
        return FileResult(path, Status.FAILED, error=f"{same}, which failed: {why}")
    return FileResult(path, Status.STORED, sha256=sent.sha256, image_id=sent.image_id, note=same)


class _Bar:
    """One task on an optional progress bar."""

    def __init__(self, progress: Progress | None, label: str, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task(label, total=total) if progress is not None else None

    def advance(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def done(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.remove_task(self._task)


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
