"""Run a read (a function of one synchronous `Session`) without a thread hop per statement.

aiosqlite runs every DBAPI call (cursor, execute, fetch, close, rollback) as its own hop to the
connection's thread; a listing page made about ten of them, and on two busy cores each hop
costs 0.3-1 ms of waiting for a thread to be scheduled, which was most of a page's time (see
docs/benchmarks.md). `ThreadReader` runs the whole read on plain `sqlite3` connections: in
place when its SQL is quick, else on a small pool of threads, one hop per request.
`SessionReader` runs the same function through `AsyncSession.run_sync`: on PostgreSQL
(asyncpg) that is the async driver underneath, and it is the fall-back for an in-memory SQLite
database, which another connection could not see.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")

#: Threads (each with its connection) for reads: enough that one slow read (a filtered timeline
#: counts rows) leaves others running.
READ_THREADS = 8
#: Seconds of SQL a read may take on the event loop's thread before it moves to the pool.
INLINE_BUDGET = 0.004
#: How many slow shapes a reader remembers.
_SLOW_SHAPES = 256
#: SQLite virtual-machine steps between two looks at the clock (a few microseconds of SQL).
_PROGRESS_STEPS = 2000
#: Pages of the database file mapped into memory instead of copied into SQLite's page cache.
MMAP_BYTES = 256 << 20
#: SQLite's own page cache per connection, in KiB (negative: a size, not a page count).
CACHE_KIB = 16 * 1024


class Reader(Protocol):
    """Runs `work` with a read-only session and returns its result. `shape` names the kind of
    read (equal for reads that cost about the same), so a reader may learn which are slow."""

    async def run(self, work: Callable[[Session], T], shape: Hashable = None) -> T: ...


class SessionReader:
    """`work` through `AsyncSession.run_sync`: the async driver does the I/O."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def run(self, work: Callable[[Session], T], shape: Hashable = None) -> T:
        async with self._sessions() as session:
            # No transaction for a read: no BEGIN and ROLLBACK round trips around it.
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            return await session.run_sync(work)

    def close(self) -> None:
        """Nothing of its own to release: the sessions' engine is the caller's."""


def _tune_reader(dbapi_connection: object, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA query_only=ON")  # a reader never writes, whatever a bug asks
    cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class _OverBudget(Exception):
    """An inline read ran past its budget; it is run again in a thread."""


class ThreadReader:
    """`work` on synchronous SQLite connections. Each call is its own transaction, so it sees
    everything committed before it started (WAL).

    A read first runs in place, on the event loop's thread, with SQLite's progress handler
    watching the clock: most listing reads need well under a millisecond of SQL, and a thread
    hop costs more than that on busy cores. A read whose SQL runs past `inline_budget` seconds
    is interrupted and run again on the thread pool (reads are idempotent), so no slow query
    (a filtered timeline counts rows for seconds) holds the event loop longer than the budget.
    Its `shape` is then remembered as slow and goes straight to the pool, until a run there
    fits the budget again.
    """

    def __init__(
        self, database: Path, threads: int = READ_THREADS, inline_budget: float = INLINE_BUDGET
    ) -> None:
        self._engine: Engine = create_engine(
            f"sqlite+pysqlite:///{database}",
            # A connection serves one thread at a time, but not always the same thread.
            connect_args={"check_same_thread": False},
            # One connection per thread, and one for reads in place on the event loop (one at a
            # time): checking one out never waits, which would block the loop.
            pool_size=threads + 1,
            max_overflow=0,
        )
        event.listen(self._engine, "connect", _tune_reader)
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="sqlite-read")
        self._inline_budget = inline_budget
        self._slow: dict[Hashable, None] = {}  # insertion-ordered: the oldest is dropped first

    async def run(self, work: Callable[[Session], T], shape: Hashable = None) -> T:
        if self._inline_budget > 0 and shape not in self._slow:
            try:
                return self._call(work, time.perf_counter() + self._inline_budget)
            except _OverBudget:
                self._slow[shape] = None
                if len(self._slow) > _SLOW_SHAPES:
                    del self._slow[next(iter(self._slow))]
        result, seconds = await asyncio.get_running_loop().run_in_executor(
            self._executor, self._timed, work
        )
        if seconds < self._inline_budget:
            self._slow.pop(shape, None)
        return result

    def _timed(self, work: Callable[[Session], T]) -> tuple[T, float]:
        """`work`'s result and how long it took, not counting the wait for a thread."""
        started = time.perf_counter()
        return self._call(work, None), time.perf_counter() - started

    def _call(self, work: Callable[[Session], T], deadline: float | None) -> T:
        with Session(self._engine) as session:
            if deadline is None:
                return work(session)
            raw = session.connection().connection.dbapi_connection
            assert raw is not None
            stopped = False

            def over_budget() -> bool:
                nonlocal stopped
                stopped = time.perf_counter() > deadline
                return stopped

            raw.set_progress_handler(over_budget, _PROGRESS_STEPS)
            try:
                return work(session)
            except DBAPIError:
                if stopped:
                    raise _OverBudget from None
                raise
            finally:
                raw.set_progress_handler(None, 0)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, or None (another database, or one in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or parsed.query:
        return None
    return Path(database)


def reader_for(
    url: str, sessions: async_sessionmaker[AsyncSession]
) -> ThreadReader | SessionReader:
    """A `ThreadReader` on a SQLite file, else a `SessionReader` over `sessions`."""
    database = sqlite_file(url)
    return ThreadReader(database) if database is not None else SessionReader(sessions)
