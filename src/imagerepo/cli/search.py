"""`imagerepo similar FILE|ID` and `imagerepo tag ID +a -b`, and the search options of
`imagerepo images` (`--q`, `--sort`, `--tag`, `--filter FIELD=VALUE`)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from imagerepo.cli.runner import JsonOption, UrlOption, UserOption, console, guarded, session
from imagerepo.client import render
from imagerepo.client.schemas import ImageJSON, SearchParams

#: The listing filters `--filter` accepts (the API's query parameters of the same names).
FILTERS = (
    "visibility",
    "media_type",
    "taken_after",
    "taken_before",
    "uploaded_after",
    "uploaded_before",
    "year",
    "month",
    "camera_make",
    "camera_model",
    "lens",
    "min_width",
    "max_width",
    "min_height",
    "max_height",
    "has_gps",
)
SORTS = ("uploaded_at", "taken_at", "size", "relevance")

QueryOption = Annotated[
    str | None,
    typer.Option(
        "--q",
        help='Full-text search: words (all must match), "a phrase", prefix*, a OR b, -word.',
        show_default=False,
    ),
]
SortOption = Annotated[
    str | None,
    typer.Option(
        help="uploaded_at (default), taken_at, size or relevance (with --q); newest/largest/"
        "best first.",
        show_default=False,
    ),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", help="Only images with this tag (repeatable: all of them).",
                 show_default=False),
]  # fmt: skip
FilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="FIELD=VALUE (repeatable): " + ", ".join(FILTERS) + ".",
        show_default=False,
    ),
]


def search_params(
    q: str | None, sort: str | None, tags: list[str] | None, filters: list[str] | None
) -> SearchParams:
    """The listing parameters these options ask for; a bad `--filter` or `--sort` is a usage
    error (exit 2) before anything is sent."""
    params: dict[str, str | int | list[str]] = {}
    if q:
        params["q"] = q
    if sort:
        if sort not in SORTS:
            raise typer.BadParameter(f"--sort is one of {', '.join(SORTS)}")
        params["sort"] = sort
    if tags:
        params["tag"] = list(tags)
    for item in filters or ():
        name, _, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in FILTERS or not value:
            raise typer.BadParameter(
                f"--filter takes FIELD=VALUE, FIELD one of {', '.join(FILTERS)}"
            )
        params[name] = value
    return params


@guarded
def similar(
    target: Annotated[str, typer.Argument(metavar="FILE|ID")],
    distance: Annotated[
        int, typer.Option(min=0, max=12, help="At most this many bits apart (0-12).")
    ] = 8,
    as_json: JsonOption = False,
    user: UserOption = None,
    url: UrlOption = None,
) -> None:
    """Images you may see that look like a local file (sent, not stored) or a stored image."""
    path = Path(target)
    is_file = path.is_file()

    async def go() -> list[ImageJSON]:
        async with session(url, user) as (client, _):
            if is_file:
                return await client.similar(path=path, distance=distance)
            return await client.similar(target, distance=distance)

    found = asyncio.run(go())
    if as_json:
        typer.echo(render.to_json(found))
    elif found:
        console().print(render.images_table(found))
    else:
        typer.echo("no similar images found", err=True)


@guarded
def tag(
    image_id: Annotated[str, typer.Argument(metavar="ID")],
    changes: Annotated[list[str], typer.Argument(metavar="+TAG|-TAG...")],
    as_json: JsonOption = False,
    user: UserOption = None,
    url: UrlOption = None,
) -> None:
    """Add (+tag, or a bare tag) and remove (-tag) tags of one of your images."""
    add = [c.removeprefix("+") for c in changes if not c.startswith("-")]
    remove = [c[1:] for c in changes if c.startswith("-")]
    if not any(add) and not any(remove):
        raise typer.BadParameter("give tags to add (+tag) or remove (-tag)")

    async def go() -> ImageJSON:
        async with session(url, user) as (client, _):
            return await client.update_image(image_id, add_tags=add, remove_tags=remove)

    image = asyncio.run(go())
    if as_json:
        typer.echo(render.to_json(image))
    else:
        tags = image.get("tags") or []
        sys.stdout.write(f"{image_id}: {', '.join(tags) if tags else '(no tags)'}\n")
