"""The test profile's database: SQLite (a temp file, the default) or the session's PostgreSQL.

`pytest --database=postgres` (or `IMAGEREPO_TEST_DATABASE=postgres`, or the scaled profile of
`tests.profiles`, which adds S3 and Redis) points the `settings`
fixture at an empty, migrated PostgreSQL database per test on the session's server
(`postgres_url`). The schema is migrated once into a template database. Tests share one copy of
it, emptied before each test (`TRUNCATE` of every table: ~35 ms, where a fresh copy by
`CREATE DATABASE ... TEMPLATE` took ~300 ms and migrating ~600 ms, measured on 2 busy cores); if
a leftover session still holds a lock on it, the test gets a fresh copy instead. A live server
of tests/e2e gets a copy of its own per module. A test that only makes sense on SQLite marks
itself `@pytest.mark.sqlite_only("why")`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import make_url

from imagerepo.db.engine import create_engine, migrate
from tests.profiles import skip_marked

T = TypeVar("T")
TEMPLATE = "imagerepo_template"
_numbers = itertools.count()


def add_option(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=("sqlite", "postgres"),
        default=os.environ.get("IMAGEREPO_TEST_DATABASE", "sqlite"),
        help="the database the app's tests run on (default: $IMAGEREPO_TEST_DATABASE or sqlite)",
    )


def on_postgres(config: pytest.Config) -> bool:
    """`--database=postgres`, or the scaled profile (`tests.profiles`), which implies it."""
    scaled = config.getoption("--profile", default="embedded") == "scaled"
    return scaled or bool(config.getoption("--database") == "postgres")


def blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to the end on its own loop, in a thread: callable from sync fixtures
    whether or not a test's loop is running."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


class Databases:
    """Makes and drops per-test databases on one PostgreSQL server."""

    def __init__(self, server_url: str) -> None:
        self.url = make_url(server_url)
        self.dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._shared: str | None = None

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    async def _admin(self, *statements: str) -> None:
        connection = await asyncpg.connect(self.dsn)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    def make_template(self) -> None:
        async def run() -> None:
            await self._admin(
                f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)", f"CREATE DATABASE {TEMPLATE}"
            )
            engine = create_engine(self.url_of(TEMPLATE))
            try:
                await migrate(engine)
            finally:
                await engine.dispose()

        blocking(run())

    def create(self, template: str = TEMPLATE) -> str:
        """A new database copied from `template` (the migrated one; `template0`: empty)."""
        name = f"test_{os.getpid()}_{next(_numbers)}"
        blocking(self._admin(f"CREATE DATABASE {name} TEMPLATE {template}"))
        return name

    def drop(self, name: str) -> None:
        blocking(self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def emptied(self) -> str:
        """The shared per-test database, every table emptied (the schema stays)."""

        async def empty(name: str) -> None:
            dsn = self.url.set(drivername="postgresql", database=name)
            connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
            try:
                await connection.execute("SET lock_timeout = '5s'")
                tables = await connection.fetch(
                    "SELECT quote_ident(tablename) FROM pg_tables"
                    " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
                await connection.execute(f"TRUNCATE {', '.join(t[0] for t in tables)} CASCADE")
            finally:
                await connection.close()

        if self._shared is not None:
            try:
                blocking(empty(self._shared))
                return self._shared
            except asyncpg.LockNotAvailableError:
                pass  # a session a test left behind holds a lock: start on a fresh copy
        self._shared = self.create()
        return self._shared


@pytest.fixture(scope="session")
def postgres_databases(postgres_url: str) -> Databases:
    databases = Databases(postgres_url)
    databases.make_template()
    return databases


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str | None:
    """This test's database URL on the profile (None: SQLite in the data folder): the shared
    per-test database, emptied."""
    if not on_postgres(request.config):
        return None
    databases: Databases = request.getfixturevalue("postgres_databases")
    return databases.url_of(databases.emptied())


@pytest.fixture(scope="module")
def module_database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A module's live server's database (tests/e2e): a fresh copy, dropped after."""
    if not on_postgres(request.config):
        yield None
        return
    databases: Databases = request.getfixturevalue("postgres_databases")
    name = databases.create()
    try:
        yield databases.url_of(name)
    finally:
        databases.drop(name)


def skip_sqlite_only(config: pytest.Config, items: list[pytest.Item]) -> None:
    if on_postgres(config):
        skip_marked(items, "sqlite_only", "SQLite only")
