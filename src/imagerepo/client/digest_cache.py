"""The local digest cache: (absolute path, size, mtime_ns) → sha256, so unchanged files are not
read again on the next sync.

One SQLite file (stdlib `sqlite3`, WAL), at `$IMAGEREPO_CACHE_DIR/digests.sqlite`, else
`$XDG_CACHE_HOME/imagerepo/digests.sqlite`, else `~/.cache/imagerepo/digests.sqlite`. It only
describes local files, so it is shared by every server and user of this machine.

It is a cache and never a reason for an upload to fail: a file that is not a database, has another
schema, or breaks in the middle of a run is deleted and made anew (`problem` says what happened,
for a warning), and if even that is impossible the cache turns itself off and every file is
hashed. An entry is trusted only while the file's size and mtime are what they were when it was
hashed; `--rehash` ignores it altogether.

The methods block (SQLite on disk) and are meant for a worker thread; a lock makes them safe to
call from several, one at a time.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE_DIR_ENV = "IMAGEREPO_CACHE_DIR"
FILE_NAME = "digests.sqlite"
SCHEMA_VERSION = 1
_DIGEST = re.compile(r"[0-9a-f]{64}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    path BLOB PRIMARY KEY,          -- os.fsencode(absolute path): any bytes a file name may hold
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
) WITHOUT ROWID
"""


@dataclass(frozen=True, slots=True)
class FileKey:
    """What identifies one version of a local file: where it is, how big, when last written."""

    path: str  # absolute, not resolved: a symlink and its target are two entries
    size: int
    mtime_ns: int


def default_path() -> Path:
    """Where the cache lives; read from the environment on every call, so tests can move it."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser() / FILE_NAME
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "imagerepo" / FILE_NAME


class DigestCache:
    """Bulk lookups and batched writes of file digests; see the module docstring."""

    def __init__(self, path: Path | None) -> None:
        """Open (or create, or re-create) the cache at `path`; None gives a cache that is off."""
        self.path = path
        self.problem: str | None = None
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = self._open_or_recreate(path)

    @classmethod
    def disabled(cls) -> DigestCache:
        """A cache that remembers nothing: every lookup misses, every store is dropped."""
        return cls(None)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def lookup(self, keys: Sequence[FileKey]) -> dict[str, str]:
        """Digests still valid for these files (path → sha256): same size and mtime as stored."""
        found: dict[str, str] = {}
        with self._lock:
            if self._db is None:
                return found
            wanted = {os.fsencode(k.path): k for k in keys}
            try:
                # One join against a temporary list of the paths, not one query per file.
                with self._db:
                    self._db.execute("DELETE FROM temp.wanted")
                    self._db.executemany(
                        "INSERT OR IGNORE INTO temp.wanted (path) VALUES (?)",
                        ((name,) for name in wanted),
                    )
                    rows = self._db.execute(
                        "SELECT d.path, d.size, d.mtime_ns, d.sha256"
                        " FROM temp.wanted AS w JOIN digests AS d ON d.path = w.path"
                    ).fetchall()
                    self._db.execute("DELETE FROM temp.wanted")
                for path, size, mtime_ns, sha256 in rows:
                    key = wanted[path]
                    if (key.size, key.mtime_ns) == (size, mtime_ns) and _is_digest(sha256):
                        found[key.path] = sha256
            except sqlite3.Error as exc:
                self._broken(exc)
                return {}
        return found

    def store(self, entries: Iterable[tuple[FileKey, str]]) -> None:
        """Remember these digests, in one transaction (replacing older entries for the paths)."""
        rows = [(os.fsencode(k.path), k.size, k.mtime_ns, digest) for k, digest in entries]
        if not rows:
            return
        with self._lock:
            if self._db is None:
                return
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO digests (path, size, mtime_ns, sha256)"
                        " VALUES (?, ?, ?, ?)",
                        rows,
                    )
            except sqlite3.Error as exc:
                self._broken(exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None

    # -- opening and repairing ------------------------------------------------------------------

    def _open_or_recreate(self, path: Path) -> sqlite3.Connection | None:
        try:
            return _connect(path)
        except (sqlite3.Error, OSError) as first:
            try:
                _remove(path)
                db = _connect(path)
            except (sqlite3.Error, OSError) as exc:
                self.problem = f"digest cache {path} is unusable ({exc}); hashing every file"
                return None
            self.problem = f"digest cache {path} was unreadable ({first}); made a new one"
            return db

    def _broken(self, exc: sqlite3.Error) -> None:
        """A failure mid-run: start a fresh cache file, or give up on caching for this run."""
        assert self.path is not None
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        try:
            _remove(self.path)
            self._db = _connect(self.path)
        except (sqlite3.Error, OSError):
            self._db = None
            self.problem = f"digest cache {self.path} failed ({exc}); hashing every file"
        else:
            self.problem = f"digest cache {self.path} failed ({exc}); made a new one"


def _connect(path: Path) -> sqlite3.Connection:
    """Open the cache, checking it really is one of ours; raises on anything else."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # It lists the user's file names: readable by them only, like the login store.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    # check_same_thread=False: used from worker threads, one at a time under DigestCache._lock.
    db = sqlite3.connect(path, timeout=5.0, check_same_thread=False)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"schema version {version}, expected {SCHEMA_VERSION}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a crash may lose the last writes, never corrupt
        db.execute(_SCHEMA)
        db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (path BLOB PRIMARY KEY) WITHOUT ROWID")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("SELECT path, size, mtime_ns, sha256 FROM digests LIMIT 1").fetchall()
    except BaseException:
        db.close()
        raise
    return db


def _is_digest(value: object) -> bool:
    """A stored value we may send to the server as is (a damaged row is a miss, not a 422)."""
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def _remove(path: Path) -> None:
    for name in _database_files(path):
        with contextlib.suppress(FileNotFoundError):
            name.unlink()


def _database_files(path: Path) -> Iterator[Path]:
    yield path
    yield path.with_name(path.name + "-wal")
    yield path.with_name(path.name + "-shm")
