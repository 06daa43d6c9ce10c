"""`imagerepo upload` (and `client/post_client.py`): sync files and folders to the server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from imagerepo.cli.runner import JsonOption, UrlOption, UserOption, console, guarded, session
from imagerepo.client import render
from imagerepo.client.digest_cache import DigestCache
from imagerepo.client.digest_cache import default_path as digest_cache_path
from imagerepo.client.schemas import Visibility
from imagerepo.client.selection import FolderRules, collect
from imagerepo.client.upload import DEFAULT_CONCURRENCY, UploadReport, make_progress, upload_all

_VISIBILITY: dict[bool, Visibility] = {True: "private", False: "public"}


@guarded
def upload(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders to upload.", show_default=False),
    ] = None,
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="A file to upload (repeatable).", show_default=False),
    ] = None,
    dirs: Annotated[
        list[Path] | None,
        typer.Option(
            "--dir", "-d", help="A folder to upload, recursively (repeatable).", show_default=False
        ),
    ] = None,
    private: Annotated[
        bool | None,
        typer.Option(
            "--private/--public",
            help="Only you can see them (everyone else gets 404), or everyone can. Applied to"
            " files already stored too; without either, new files are public and stored ones"
            " keep theirs.",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option(
            help="Description for every file, those already stored included.", show_default=False
        ),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="A tag for every new file (repeatable).", show_default=False),
    ] = None,
    user: UserOption = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Files hashed, or uploads in flight, at once.")
    ] = DEFAULT_CONCURRENCY,
    url: UrlOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar; list failed files only.")
    ] = False,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            help="In folders, only files whose path (relative to the folder) matches this glob,"
            " e.g. '*.jpg' (repeatable; case-insensitive; * also matches /).",
            show_default=False,
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="In folders, leave out paths matching this glob, e.g. '*/raw/*' for every raw"
            " folder (repeatable).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Hash and ask the server, list what would be sent or updated, change nothing.",
        ),
    ] = False,
    rehash: Annotated[
        bool,
        typer.Option(
            "--rehash", help="Read every file again instead of trusting the digest cache."
        ),
    ] = False,
    direct: Annotated[
        bool,
        typer.Option(
            "--direct",
            help="Send new files straight to the server's S3 bucket (presigned PUT), not"
            " through the server; the usual way if it has no S3 storage.",
        ),
    ] = False,
    as_json: JsonOption = False,
    default_dir: Annotated[Path | None, typer.Option(hidden=True)] = None,
) -> None:
    """Sync image files and folders: hash them, ask the server, send only what it lacks, and
    apply the --private/--public/--description you give to the files it already has.

    Digests are cached (by path, size and mtime) in $IMAGEREPO_CACHE_DIR, default
    ~/.cache/imagerepo, so unchanged files are not read again. Exits 1 if any file failed.
    """
    if not (paths or files or dirs):
        if default_dir is None:
            raise typer.BadParameter("give files or folders to upload (PATHS, --file or --dir)")
        dirs = [default_dir]
    rules = FolderRules(include=include or (), exclude=exclude or ())
    selection = collect(files or [], dirs or [], paths or [], rules=rules)

    async def go() -> UploadReport:
        async with session(url, user) as (client, tokens):
            if selection.files:
                await tokens.token(client)  # a login problem is one error, not one per file
            cache = await asyncio.to_thread(DigestCache, digest_cache_path())
            try:
                with make_progress(console(stderr=True), quiet=quiet) as progress:
                    return await upload_all(
                        client,
                        selection,
                        description=description,
                        tags=tag or (),
                        visibility=None if private is None else _VISIBILITY[private],
                        concurrency=concurrency,
                        progress=progress,
                        cache=cache,
                        rehash=rehash,
                        dry_run=dry_run,
                        direct=direct,
                    )
            finally:
                await asyncio.to_thread(cache.close)

    report = asyncio.run(go())
    for note in report.notes:
        typer.echo(f"warning: {note}", err=True)
    if as_json:
        typer.echo(render.to_json(render.upload_json(report)))
    else:
        out = console()
        rows, left_out = render.upload_listing(report, failures_only=quiet)
        if rows:
            out.print(render.upload_table(rows))
        if left_out and not quiet:
            out.print(left_out, markup=False)
        out.print(report.summary(), markup=False)
    if not report.ok:
        raise typer.Exit(1)
