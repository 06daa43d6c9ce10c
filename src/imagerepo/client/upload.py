"""Bulk sync: hash locally, ask the server what it lacks, send only that, report every file.

    collect (selection.py) → digests (digests.py, with the local cache) → POST /images/check
    → upload the missing ones, N at a time → one result per file

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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from imagerepo.client.api import ImageRepoClient
from imagerepo.client.digest_cache import DigestCache
from imagerepo.client.digests import local_digests
from imagerepo.client.schemas import ImageJSON, NearDuplicateJSON, Visibility
from imagerepo.client.selection import Selection
from imagerepo.errors import ImageRepoError, TransportError

DEFAULT_CONCURRENCY = 8


class Status(enum.StrEnum):
    NEW = "new"
    STORED = "already stored"
    FAILED = "failed"
    WOULD_SEND = "would send"  # --dry-run


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
        """`812 new, 9 188 already stored, 0 failed`, then the skipped files by reason."""
        stored, failed = _number(self.count(Status.STORED)), _number(self.count(Status.FAILED))
        if self.dry_run:
            line = (
                f"dry run: {_number(self.count(Status.WOULD_SEND))} to send, {stored} already"
                f" stored, {failed} failed; nothing was sent"
            )
        else:
            line = (
                f"{_number(self.count(Status.NEW))} new, {stored} already stored, {failed} failed"
            )
        if self.skipped:
            reasons = Counter(why for _, why in self.skipped)
            detail = ", ".join(f"{_number(n)} {why}" for why, n in sorted(reasons.items()))
            line += f"\nskipped: {detail}"
        return line


def _number(n: int) -> str:
    """9 188: thousands apart with a space, as people write them (programs read `--json`)."""
    return f"{n:,}".replace(",", " ")


async def upload_all(
    client: ImageRepoClient,
    selection: Selection,
    *,
    description: str = "",
    visibility: Visibility = "public",
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    cache: DigestCache | None = None,
    rehash: bool = False,
    dry_run: bool = False,
) -> UploadReport:
    """Sync `selection.files` to the server; results keep input order.

    `cache` remembers digests between runs (None: hash every file, remember nothing). With
    `dry_run` everything up to the server's answer to `/check` happens, and nothing is sent.
    Raises `ImageRepoError` only if `/check` itself fails (then nothing could be decided).
    """
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

    existing = (await client.check_digests(list(first_with))).existing if first_with else {}
    to_send: list[tuple[int, str]] = []
    for sha256, index in first_with.items():
        image_id = existing.get(sha256)
        if image_id is not None:
            results[index] = FileResult(
                files[index], Status.STORED, sha256=sha256, image_id=image_id
            )
        elif dry_run:
            results[index] = FileResult(files[index], Status.WOULD_SEND, sha256=sha256)
        else:
            to_send.append((index, sha256))

    if to_send:
        await _send_all(
            client, files, to_send, results, description, visibility, concurrency, progress
        )
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


async def _send_all(
    client: ImageRepoClient,
    files: list[Path],
    to_send: list[tuple[int, str]],
    results: list[FileResult | None],
    description: str,
    visibility: Visibility,
    concurrency: int,
    progress: Progress | None,
) -> None:
    queue = iter(to_send)  # one shared iterator is the queue: workers never race on it
    stopped: list[str] = []
    bar = _Bar(progress, "uploading", len(to_send))

    async def worker() -> None:
        for index, digest in queue:
            path = files[index]
            if stopped:
                results[index] = FileResult(
                    path, Status.FAILED, sha256=digest, error=f"not sent: {stopped[0]}"
                )
            else:
                results[index], unreachable = await _upload_one(
                    client, path, digest, description, visibility
                )
                if unreachable:
                    stopped.append("the server is unreachable")
            bar.advance(1)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(to_send))))))
    bar.done()


async def _upload_one(
    client: ImageRepoClient, path: Path, digest: str, description: str, visibility: Visibility
) -> tuple[FileResult, bool]:
    """The result for one file, and whether the server could not be reached at all."""
    try:
        answer = await client.upload(path, description=description, visibility=visibility)
    except TransportError as exc:
        unreachable = exc.context.get("kind") == "connect"
        return FileResult(path, Status.FAILED, sha256=digest, error=exc.message), unreachable
    except ImageRepoError as exc:
        return FileResult(path, Status.FAILED, sha256=digest, error=exc.message), False
    except OSError as exc:
        error = exc.strerror or str(exc)
        return FileResult(path, Status.FAILED, sha256=digest, error=error), False
    image = answer.image
    sent = str(image.get("sha256", digest))
    return FileResult(
        path,
        Status.NEW if answer.created else Status.STORED,
        image=image,
        sha256=sent,
        image_id=str(image.get("id", "")) or None,
        note=None if sent == digest else "the file changed while it was being sent",
        near_duplicates=tuple(answer.near_duplicates),
    ), False


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
