"""`imagerepo migrate` and `imagerepo check-config`: for whoever runs the server.

Both read the server's settings (IMAGEREPO_* variables, `--data-dir`) and touch only the
backends, never the HTTP API. On SQLite `migrate` is what the server also does at start; on
PostgreSQL it is the only way the schema moves (a server at another revision refuses to start
and names this command), so N servers never race to migrate.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import typer

from imagerepo.cli.runner import guarded
from imagerepo.cli.serve import DataDirOption, metrics_dir_problem, server_settings

if TYPE_CHECKING:
    from imagerepo.config import Settings


@guarded
def migrate(data_dir: DataDirOption = None) -> None:
    """Bring the database schema to the newest revision, then exit."""
    settings = server_settings(data_dir=data_dir)
    from imagerepo.db.engine import create_engine
    from imagerepo.db.engine import migrate as upgrade
    from imagerepo.db.health import describe, revision

    async def go() -> tuple[str | None, str | None, bool]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.resolved_database_url)
        try:
            before = await revision(engine)
            await upgrade(engine)
            return before, await revision(engine), await _apply_queue_schema(settings)
        finally:
            await engine.dispose()

    before, after, queue_created = asyncio.run(go())
    where = describe(settings.resolved_database_url)
    if before == after:
        typer.echo(f"{where}: already at revision {after}")
    else:
        typer.echo(f"{where}: migrated from {before or 'an empty database'} to revision {after}")
    if queue_created:
        typer.echo("job queue: created procrastinate's tables")


async def _apply_queue_schema(settings: Settings) -> bool:
    """With IMAGEREPO_QUEUE_URL: create procrastinate's tables unless they exist."""
    if settings.queue_url is None:
        return False
    from imagerepo.wiring import procrastinate_queue

    queue = procrastinate_queue(settings, settings.queue_url)
    try:
        return await queue.apply_schema()
    finally:
        await queue.aclose()


@guarded
def check_config(data_dir: DataDirOption = None) -> None:
    """Check the settings and connect to each configured service (database, storage, cache):
    one line each; exit status 1 if anything is wrong."""
    settings = server_settings(data_dir=data_dir)  # an invalid value: one line, exit 1
    if problem := metrics_dir_problem():
        typer.echo(f"metrics: FAILED: {problem}")
        raise typer.Exit(1)
    from imagerepo.backends import build_backends
    from imagerepo.db.engine import create_engine
    from imagerepo.db.health import describe, ping
    from imagerepo.services.readiness import Readiness
    from imagerepo.wiring import build_queue

    async def go() -> dict[str, str]:
        engine = create_engine(settings.resolved_database_url)
        backends = build_backends(settings)
        queue = build_queue(settings)
        try:
            checks = {"database": lambda: ping(engine), **backends.checks, "queue": queue.ping}
            return await Readiness(checks, timeout=10).problems()
        finally:
            await queue.aclose()
            await backends.aclose()
            await engine.dispose()

    problems = asyncio.run(go())
    targets = {
        "database": describe(settings.resolved_database_url),
        "storage": settings.storage_url or f"file://{settings.data_dir}",
        "cache": _masked(settings.cache_url) if settings.cache_url else "in-process",
        "queue": _masked(settings.queue_url) if settings.queue_url else "in-process",
    }
    for name, target in targets.items():
        if name in problems:
            typer.echo(f"{name}: FAILED ({target}): {problems[name]}")
        else:
            typer.echo(f"{name}: ok ({target})")
    if shared := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        typer.echo(f"metrics: ok (every process of this host sums into {shared})")
    if problems:
        raise typer.Exit(1)


def _masked(url: str) -> str:
    """`redis://:secret@host` → `redis://:***@host`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
