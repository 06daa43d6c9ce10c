"""The reader: reads run in place under a SQL time budget, else once more on its threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.orm import Session

from imagerepo.db.readers import ThreadReader, sqlite_file

_SLOW = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)"
    " SELECT count(*) FROM n"
)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "r.db"
    with Session(sqlalchemy.create_engine(f"sqlite:///{path}")) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1), (2)"))
        session.commit()
    return path


async def test_a_quick_read_runs_in_place_and_a_slow_one_on_a_thread(database: Path) -> None:
    reader = ThreadReader(database, threads=2, inline_budget=0.005)
    where: list[str] = []

    def read(statement: str) -> object:
        def work(session: Session) -> object:
            where.append(threading.current_thread().name)
            return session.scalar(text(statement))

        return work

    try:
        assert await reader.run(read("SELECT sum(x) FROM t"), "quick") == 3
        assert where == [threading.main_thread().name]
        where.clear()
        assert await reader.run(read(_SLOW), "slow") == 3000000  # interrupted, then run again
        assert where[0] == threading.main_thread().name
        assert where[1].startswith("sqlite-read")
        where.clear()
        assert await reader.run(read(_SLOW), "slow") == 3000000  # known slow: the pool at once
        assert [w.startswith("sqlite-read") for w in where] == [True]
    finally:
        reader.close()


async def test_a_reader_never_writes(database: Path) -> None:
    reader = ThreadReader(database, threads=1)
    try:
        with pytest.raises(sqlalchemy.exc.OperationalError, match="readonly"):
            await reader.run(lambda session: session.execute(text("DELETE FROM t")))
    finally:
        reader.close()


def test_only_a_sqlite_file_gets_a_thread_reader() -> None:
    assert sqlite_file("sqlite+aiosqlite:////data/imagerepo.db") == Path("/data/imagerepo.db")
    assert sqlite_file("sqlite+aiosqlite://") is None
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("postgresql+asyncpg://u@h/db") is None
