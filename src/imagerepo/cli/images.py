"""`imagerepo images`, `show`, `get`, `rm`, `edit`: a listing, or one image, as you may see it."""

from __future__ import annotations

import asyncio
import errno
import mimetypes
import os
import sys
import textwrap
from pathlib import Path
from typing import Annotated

import typer

from imagerepo.cli.runner import (
    JsonOption,
    UrlOption,
    UserOption,
    console,
    fail,
    guarded,
    session,
)
from imagerepo.cli.search import (
    FilterOption,
    QueryOption,
    SortOption,
    TagOption,
    search_params,
)
from imagerepo.client import render
from imagerepo.client.schemas import ImageJSON
from imagerepo.errors import AuthenticationFailed, ImageRepoError, TransportError

ImageId = Annotated[str, typer.Argument(metavar="ID")]


@guarded
def images(
    user: UserOption = None,
    keywords: Annotated[
        list[str] | None,
        typer.Option(
            "--keywords",
            "--keyword",
            "-k",
            help="Only images whose title or description has these words (repeatable).",
            show_default=False,
        ),
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="Only images of this user.", show_default=False)
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many (default: all).")
    ] = None,
    q: QueryOption = None,
    sort: SortOption = None,
    tag: TagOption = None,
    filters: FilterOption = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
) -> None:
    """List the images you can see: all public ones and your private ones, newest first;
    --q searches, --tag and --filter narrow, --sort orders."""
    words = " ".join(keywords) if keywords else None
    search = search_params(q, sort, tag, filters)

    async def go() -> tuple[int, list[ImageJSON]]:
        count, found = 0, []
        async with session(url, user) as (client, _):
            async for image in client.iter_images(
                owner=owner, keywords=words, max_items=limit, search=search
            ):
                if as_json:  # streamed: a long listing starts printing at once, in no memory
                    item = textwrap.indent(render.to_json(image), "  ")
                    sys.stdout.write(("[\n" if not count else ",\n") + item)
                else:
                    found.append(image)
                count += 1
        return count, found

    count, found = asyncio.run(go())
    if as_json:
        sys.stdout.write("\n]\n" if count else "[]\n")
    elif found:
        console().print(render.images_table(found))
    else:
        typer.echo("no images found", err=True)


@guarded
def show(
    image_id: ImageId,
    as_json: JsonOption = False,
    user: UserOption = None,
    url: UrlOption = None,
) -> None:
    """Show every field of one image."""

    async def go() -> ImageJSON:
        async with session(url, user) as (client, _):
            return await client.get_image(image_id)

    image = asyncio.run(go())
    if as_json:
        typer.echo(render.to_json(image))
    else:
        console().print(render.image_detail(image))


@guarded
def get(
    image_id: ImageId,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="File or existing folder (default: its name, here); '-' writes to stdout.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    user: UserOption = None,
    url: UrlOption = None,
) -> None:
    """Download one image."""
    if output == "-":
        _get_to_stdout(image_id, user, url)
        return
    folder, dest = _destination(output)

    async def go() -> Path:
        async with session(url, user) as (client, _):
            path = dest or folder / safe_filename(await client.get_image(image_id), image_id)
            if path.exists() and not force:
                raise FileExistsError(
                    errno.EEXIST, "already exists (use --force to replace it)", str(path)
                )
            return await client.download(image_id, path)

    typer.echo(f"saved {asyncio.run(go())}")


def _destination(output: str | None) -> tuple[Path, Path | None]:
    """The folder to save in, and the file name when `output` gives one (else the image's).

    Checked before anything is asked, so a typo costs no download and leaves no file behind.
    """
    if output is None:
        return Path(), None
    path = Path(output)
    names_folder = output.endswith(("/", os.sep)) or path.is_dir()
    folder = path if names_folder else path.parent
    if not folder.is_dir():
        fail(f"folder {folder} {'is not a folder' if folder.exists() else 'does not exist'}")
    return folder, None if names_folder else path


def _get_to_stdout(image_id: str, user: str | None, url: str | None) -> None:
    """The bytes and nothing else on stdout, for pipes (`imagerepo get ID -o - | exiftool -`)."""
    if sys.stdout.isatty():
        fail("not writing image bytes to a terminal: pipe or redirect stdout, or use -o FILE")
    out = sys.stdout.buffer

    async def go() -> None:
        async with session(url, user) as (client, _):
            await client.write_file(image_id, out)

    asyncio.run(go())
    out.flush()


@guarded
def rm(
    image_ids: Annotated[list[str], typer.Argument(metavar="ID...")],
    user: UserOption = None,
    url: UrlOption = None,
) -> None:
    """Delete your images (only the owner may). Exits 1 if any could not be deleted."""

    async def go() -> int:
        failed = 0
        async with session(url, user) as (client, _):
            for image_id in image_ids:
                try:
                    await client.delete_image(image_id)
                except (TransportError, AuthenticationFailed):
                    raise  # about the server or the login, not this id: stop, say it once
                except ImageRepoError as exc:
                    failed += 1
                    typer.echo(f"error: {image_id}: {exc.message}", err=True)
                else:
                    typer.echo(f"deleted {image_id}")
        return failed

    if asyncio.run(go()):
        raise typer.Exit(1)


@guarded
def edit(
    image_id: ImageId,
    description: Annotated[
        str | None, typer.Option(help="New description.", show_default=False)
    ] = None,
    public: Annotated[
        bool | None,
        typer.Option("--public/--private", help="New visibility.", show_default=False),
    ] = None,
    as_json: JsonOption = False,
    user: UserOption = None,
    url: UrlOption = None,
) -> None:
    """Change the description or visibility of one of your images."""
    if description is None and public is None:
        raise typer.BadParameter("nothing to change: give --description, --public or --private")

    async def go() -> ImageJSON:
        async with session(url, user) as (client, _):
            return await client.update_image(
                image_id,
                description=description,
                visibility=None if public is None else ("public" if public else "private"),
            )

    image = asyncio.run(go())
    if as_json:
        typer.echo(render.to_json(image))
    else:
        console().print(render.image_detail(image))


def safe_filename(image: ImageJSON, image_id: str) -> str:
    """A local name for a download: the uploaded file's base name, never a path or a dotfile."""
    name = Path(str(image.get("filename") or "")).name.strip()
    if name and not name.startswith("."):
        return name
    extension = mimetypes.guess_extension(str(image.get("media_type") or "")) or ""
    return f"{image_id}{extension}"
