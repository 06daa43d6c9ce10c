"""`imagerepo gc`: one collector pass on the server's backends, by hand.

Every server process also runs one every `IMAGEREPO_GC_INTERVAL_SECONDS`; running this beside
them is safe (what goes is decided row by row in the database: `services/blob_refs.py`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from imagerepo.cli.runner import guarded
from imagerepo.cli.serve import DataDirOption, server_settings


@guarded
def gc(
    data_dir: DataDirOption = None,
    walk: Annotated[
        bool,
        typer.Option(
            "--walk/--no-walk",
            help="List the whole originals store for objects no row names (slow on a big bucket).",
        ),
    ] = True,
) -> None:
    """Remove originals nothing references (older than the grace period), stored objects with
    no reference row, and expired direct uploads; then say what went."""
    settings = server_settings(data_dir=data_dir)
    from imagerepo.wiring import build_services

    async def go() -> str:
        async with build_services(settings) as services:
            assert services.collector is not None
            done = await services.collector.collect(orphans=walk)
        return (
            f"removed {done.unreferenced} unreferenced, {done.orphans} orphaned and"
            f" {done.stale} half-removed originals, {done.expired_uploads} expired direct"
            f" uploads and {done.expired_claims} expired upload claims"
        )

    typer.echo(asyncio.run(go()))
