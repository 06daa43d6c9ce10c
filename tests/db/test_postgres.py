"""What PostgreSQL adds to the embedded profile: only `imagerepo migrate` migrates, a server
refuses another schema revision with one line, concurrent duplicate uploads through two server
processes' worth of services still make one row, and its errors arrive translated.

These always run against the session's PostgreSQL (`postgres_databases`), whatever the profile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from imagerepo.app import create_app
from imagerepo.cli import app
from imagerepo.config import Settings
from imagerepo.db.engine import (
    alembic_config,
    create_engine,
    head_revision,
    migrate,
    prepare_schema,
    session_factory,
)
from imagerepo.db.repos.images import ImageRepository
from imagerepo.errors import Conflict, ServiceUnavailable
from tests.api.helpers import upload
from tests.conftest import FAST_ARGON2, ROOT_PASSWORD
from tests.databases import TEMPLATE, Databases, blocking
from tests.db.synthetic import synthetic
from tests.images import make_image
from tests.services import free_port


@pytest.fixture
def empty_database(postgres_databases: Databases) -> Iterator[str]:
    """A database with no schema at all (not from the template)."""
    name = postgres_databases.create(template="template0")
    try:
        yield postgres_databases.url_of(name)
    finally:
        postgres_databases.drop(name)


@pytest.fixture
def migrated_database(postgres_databases: Databases) -> Iterator[str]:
    name = postgres_databases.create()
    try:
        yield postgres_databases.url_of(name)
    finally:
        postgres_databases.drop(name)


def server_settings(data_dir: Path, url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=url,
        root_password=ROOT_PASSWORD,  # type: ignore[arg-type]
        secret_key="k" * 48,  # type: ignore[arg-type]
        **FAST_ARGON2,  # type: ignore[arg-type]
    )


async def test_a_server_refuses_an_old_schema_and_migrate_brings_it_up(
    empty_database: str,
) -> None:
    engine = create_engine(empty_database)
    try:
        with pytest.raises(ServiceUnavailable) as refused:
            await prepare_schema(engine)  # what a starting server does: no migrating
        assert str(refused.value.message) == (
            f"the database schema is at nothing (an empty database), this server needs"
            f" {head_revision()}: run 'imagerepo migrate'"
        )
        async with engine.connect() as connection:
            tables = await connection.scalar(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            )
        assert tables == 0

        await asyncio.gather(migrate(engine), migrate(engine))  # two at once take turns
        await prepare_schema(engine)  # now it starts

        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '0004'"))
        with pytest.raises(ServiceUnavailable, match="schema is at 0004, this server needs"):
            await prepare_schema(engine)
    finally:
        await engine.dispose()


async def test_an_unreachable_database_is_one_clear_error() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/imagerepo")
    try:
        with pytest.raises(ServiceUnavailable, match=r"database unreachable \(127.0.0.1:1\)"):
            await prepare_schema(engine)
    finally:
        await engine.dispose()


async def test_a_deadlock_becomes_service_unavailable(migrated_database: str) -> None:
    engine = create_engine(migrated_database)
    try:
        async with engine.connect() as connection:
            with pytest.raises(ServiceUnavailable, match="after a deadlock: try again"):
                await connection.execute(
                    text("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")
                )
    finally:
        await engine.dispose()


@pytest.fixture
async def two_servers(
    migrated_database: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two apps on one database and one data folder, as two server processes would be (no
    Redis: their locks are the database's advisory locks)."""
    apps = [create_app(server_settings(tmp_path / "data", migrated_database)) for _ in range(2)]
    async with (
        apps[0].router.lifespan_context(apps[0]),
        apps[1].router.lifespan_context(apps[1]),
    ):
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
            for app in apps
        ]
        async with clients[0], clients[1]:
            yield clients[0], clients[1]


async def test_concurrent_duplicate_uploads_through_two_servers_make_one_row(
    two_servers: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    first, second = two_servers
    answer = await first.post(
        "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    for round_ in range(3):
        data = make_image(seed=100 + round_)
        answers = await asyncio.gather(
            *(
                upload(client, headers, data, expect=None)
                for client in (first, second, first, second)
            )
        )
        assert len({a["id"] for a in answers}) == 1, answers
    listing = (await second.get("/api/v1/images?limit=50", headers=headers)).json()
    assert len(listing["items"]) == 3


def test_the_template_is_at_head(postgres_databases: Databases) -> None:
    async def current() -> str | None:
        engine = create_engine(postgres_databases.url_of(TEMPLATE))
        try:
            async with engine.connect() as connection:
                return await connection.scalar(text("SELECT version_num FROM alembic_version"))
        finally:
            await engine.dispose()

    assert blocking(current()) == head_revision()


def test_serve_names_the_command_that_migrates(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEREPO_DATABASE_URL", empty_database)
    data = str(tmp_path / "lib")
    refused = CliRunner().invoke(app, ["serve", "--data-dir", data, "--port", str(free_port())])
    assert refused.exit_code == 1
    assert refused.output.splitlines() == [
        "error: the database schema is at nothing (an empty database), this server needs"
        f" {head_revision()}: run 'imagerepo migrate'"
    ]
    migrated = CliRunner().invoke(app, ["migrate", "--data-dir", data])
    assert migrated.exit_code == 0, migrated.output
    assert f"migrated from an empty database to revision {head_revision()}" in migrated.output


async def test_the_database_itself_keeps_one_row_per_owner_and_bytes(
    migrated_database: str,
) -> None:
    """No lock at all: concurrent inserts of the same bytes for one owner, one wins."""
    engine = create_engine(migrated_database)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, is_admin, created_at)"
                    " VALUES ('u1', 'ann', 'x', false, now())"
                )
            )
        images = ImageRepository(session_factory(engine))
        first = synthetic(1, "u1", "ann")[0]
        same_bytes = [replace(first, id=f"copy{n}") for n in range(6)]
        results = await asyncio.gather(
            *(images.add(image) for image in same_bytes), return_exceptions=True
        )
        assert sum(not isinstance(r, BaseException) for r in results) == 1, results
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
        assert await images.count_owned_by("u1") == 1
    finally:
        await engine.dispose()


async def test_migrations_go_down_and_up_again(empty_database: str) -> None:
    engine = create_engine(empty_database)

    def to(target: str) -> Callable[[Connection], None]:
        def run(sync_connection: Connection) -> None:
            config = alembic_config(empty_database)
            config.attributes["connection"] = sync_connection
            if target == "head":
                command.upgrade(config, target)
            else:
                command.downgrade(config, target)

        return run

    try:
        for target in ("head", "0004", "head"):
            async with engine.begin() as connection:
                await connection.run_sync(to(target))
        await prepare_schema(engine)
        async with engine.connect() as connection:
            triggers = await connection.scalar(
                text("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")
            )
        assert triggers == 2  # the search document and the month counts
    finally:
        await engine.dispose()
