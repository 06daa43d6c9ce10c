"""The sha256 of every file of an upload: from the digest cache when the file is unchanged, else
by reading it.

All file work runs in worker threads, never on the event loop, and in bulk, because a re-sync of
10 000 unchanged files must cost well under a second here:
- one thread call `stat`s every file, giving the cache keys (absolute path, size, mtime_ns);
- one bulk cache lookup answers for all of them;
- the misses are read by at most `concurrency` workers, each hashing one file at a time (so no
  more than `concurrency` files are open), and taking them in batches of up to 64 files or 8 MiB
  per thread call, so small files cost a thread hand-off per batch rather than per file;
- new digests go to the cache every `FLUSH_EVERY` files and at the end, so a run that is killed
  keeps most of its work.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from imagerepo.client.digest_cache import DigestCache, FileKey

FLUSH_EVERY = 1_000
BATCH_FILES = 64
BATCH_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LocalDigest:
    """One file's digest, or why there is none (it vanished, it cannot be read)."""

    sha256: str | None
    error: str | None = None
    cached: bool = False


def hash_file(path: str) -> tuple[FileKey, str, bool]:
    """Read one file: its key as it was when opened, its sha256, and whether it held still.

    The key comes from the open file, so it describes exactly the bytes hashed; a file written to
    while being read (size or mtime moved) is hashed but not cached.
    """
    with open(path, "rb") as fh:
        before = os.fstat(fh.fileno())
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
        after = os.fstat(fh.fileno())
    key = FileKey(path, before.st_size, before.st_mtime_ns)
    return key, digest, (after.st_size, after.st_mtime_ns) == (key.size, key.mtime_ns)


async def local_digests(
    paths: Sequence[Path],
    *,
    cache: DigestCache,
    concurrency: int,
    rehash: bool = False,
    advance: Callable[[int], None] | None = None,
) -> list[LocalDigest]:
    """The digest of each of `paths`, in order; `rehash` ignores (but refreshes) the cache.

    `advance(n)` is called as files are done, for a progress bar.
    """
    keys = await asyncio.to_thread(_stat_all, paths)
    found = {} if rehash else await asyncio.to_thread(cache.lookup, _valid(keys))
    out: list[LocalDigest | None] = [None] * len(paths)
    misses: list[tuple[int, FileKey]] = []
    for index, key in enumerate(keys):
        if isinstance(key, str):
            out[index] = LocalDigest(None, error=key)
        elif (digest := found.get(key.path)) is not None:
            out[index] = LocalDigest(digest, cached=True)
        else:
            misses.append((index, key))
    if advance is not None:
        advance(len(paths) - len(misses))

    batches = iter(_batches(misses))
    fresh: list[tuple[FileKey, str]] = []

    async def worker() -> None:
        for batch in batches:
            done = await asyncio.to_thread(_hash_batch, [key.path for _, key in batch])
            for (index, _), outcome in zip(batch, done, strict=True):
                if isinstance(outcome, str):
                    out[index] = LocalDigest(None, error=outcome)
                    continue
                key, digest, still = outcome
                out[index] = LocalDigest(digest)
                if still:
                    fresh.append((key, digest))
            if advance is not None:
                advance(len(batch))
            if len(fresh) >= FLUSH_EVERY:
                entries = fresh.copy()
                fresh.clear()
                await asyncio.to_thread(cache.store, entries)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(misses))))))
    await asyncio.to_thread(cache.store, fresh)
    return [d if d is not None else LocalDigest(None, error="not hashed") for d in out]


def _stat_all(paths: Sequence[Path]) -> list[FileKey | str]:
    """Each file's cache key, or the reason it cannot be had (as `os.strerror` words it)."""
    keys: list[FileKey | str] = []
    for path in paths:
        absolute = os.path.abspath(path)
        try:
            st = os.stat(absolute)
        except OSError as exc:
            keys.append(exc.strerror or str(exc))
            continue
        keys.append(FileKey(absolute, st.st_size, st.st_mtime_ns))
    return keys


def _valid(keys: Sequence[FileKey | str]) -> list[FileKey]:
    return [k for k in keys if isinstance(k, FileKey)]


def _batches(files: Sequence[tuple[int, FileKey]]) -> list[list[tuple[int, FileKey]]]:
    """Consecutive runs of at most `BATCH_FILES` files and (unless one file alone) `BATCH_BYTES`."""
    batches: list[list[tuple[int, FileKey]]] = []
    current: list[tuple[int, FileKey]] = []
    size = 0
    for item in files:
        length = item[1].size
        if current and (len(current) >= BATCH_FILES or size + length > BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += length
    if current:
        batches.append(current)
    return batches


def _hash_batch(paths: Sequence[str]) -> list[tuple[FileKey, str, bool] | str]:
    """Runs in a worker thread: hash each file in turn (one open at a time)."""
    done: list[tuple[FileKey, str, bool] | str] = []
    for path in paths:
        try:
            done.append(hash_file(path))
        except OSError as exc:
            done.append(exc.strerror or str(exc))
    return done
