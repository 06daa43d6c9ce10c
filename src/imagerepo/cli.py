"""The `imagerepo` command (also `python -m imagerepo` and the seed scripts).

    imagerepo serve                      run the server
    imagerepo upload PATHS -f FILE -d DIR  sync files: hash, ask, send what is missing
    imagerepo images / show / get / rm / edit
    imagerepo user add NAME              create an account (as an admin)
    imagerepo login / logout / whoami

Which server and which user every command talks to is decided in `imagerepo.client.auth`.
Errors: any `ImageRepoError` (and `OSError` on a local file) ends the command with ONE line,
`error: <message>`, on stderr and exit code 1; usage errors are typer's, exit code 2. Server code
is imported only by `serve`, so the client commands start fast and work without it installed.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import mimetypes
import secrets
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from typer.core import TyperGroup

from imagerepo import credentials
from imagerepo.client import render
from imagerepo.client.api import ImageRepoClient
from imagerepo.client.auth import (
    StoredCredentials,
    find_password,
    missing_credentials,
    resolve_url,
    resolve_username,
)
from imagerepo.client.digest_cache import DigestCache
from imagerepo.client.digest_cache import default_path as digest_cache_path
from imagerepo.client.schemas import ImageJSON, UserJSON
from imagerepo.client.selection import FolderRules, collect
from imagerepo.client.upload import DEFAULT_CONCURRENCY, UploadReport, make_progress, upload_all
from imagerepo.errors import AuthenticationFailed, ImageRepoError, TransportError

R = TypeVar("R")
P = ParamSpec("P")

app = typer.Typer(
    name="imagerepo",
    help="A self-hosted, multi-user image repository: server and client.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold passwords and tokens
)
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Server URL (default: $IMAGEREPO_URL, the stored default, http://127.0.0.1:8000).",
        show_default=False,
    ),
]
UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        "-u",
        help="Act as this user (default: $IMAGEREPO_USER, the stored default, root).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Every expected failure of a command becomes one line on stderr and exit 1, never a
    traceback: an `ImageRepoError` (from either side of the wire) or an `OSError` on a local file.
    """

    @functools.wraps(command)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ImageRepoError as exc:
            _fail(exc.message)
        except OSError as exc:
            _fail(_os_message(exc))
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return guarded


def _fail(message: str) -> NoReturn:
    # typer.echo, not rich: rich would wrap a long message onto several lines.
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


# -- server -----------------------------------------------------------------------------------


@app.command()
@_guarded
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default: 8000).")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (default: ./data).")
    ] = None,
) -> None:
    """Run the server. Settings come from IMAGEREPO_* variables; these flags override them."""
    from pydantic import ValidationError

    from imagerepo.config import Settings

    overrides: dict[str, Any] = {"host": host, "port": port, "data_dir": data_dir}
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"invalid settings: {problems}")
    from imagerepo.serve import serve as run_server

    run_server(settings)


# -- images -----------------------------------------------------------------------------------


@app.command()
@_guarded
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
        bool, typer.Option("--private", help="Only you can see them (everyone else gets 404).")
    ] = False,
    description: Annotated[str, typer.Option(help="Description for every file sent.")] = "",
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
            "--dry-run", help="Hash and ask the server, list what would be sent, send nothing."
        ),
    ] = False,
    rehash: Annotated[
        bool,
        typer.Option(
            "--rehash", help="Read every file again instead of trusting the digest cache."
        ),
    ] = False,
    as_json: JsonOption = False,
    default_dir: Annotated[Path | None, typer.Option(hidden=True)] = None,
) -> None:
    """Sync image files and folders: hash them, ask the server, send only what it lacks.

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
        async with _session(url, user) as (client, tokens):
            if selection.files:
                await tokens.token(client)  # a login problem is one error, not one per file
            cache = await asyncio.to_thread(DigestCache, digest_cache_path())
            try:
                with make_progress(_console(stderr=True), quiet=quiet) as progress:
                    return await upload_all(
                        client,
                        selection,
                        description=description,
                        visibility="private" if private else "public",
                        concurrency=concurrency,
                        progress=progress,
                        cache=cache,
                        rehash=rehash,
                        dry_run=dry_run,
                    )
            finally:
                await asyncio.to_thread(cache.close)

    report = asyncio.run(go())
    for note in report.notes:
        typer.echo(f"warning: {note}", err=True)
    if as_json:
        typer.echo(render.to_json(render.upload_json(report)))
    else:
        out = _console()
        rows, left_out = render.upload_listing(report, failures_only=quiet)
        if rows:
            out.print(render.upload_table(rows))
        if left_out and not quiet:
            out.print(left_out, markup=False)
        out.print(report.summary(), markup=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@_guarded
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
    as_json: JsonOption = False,
    url: UrlOption = None,
) -> None:
    """List the images you can see: all public ones and your private ones, newest first."""
    words = " ".join(keywords) if keywords else None

    async def go() -> tuple[int, list[ImageJSON]]:
        count, found = 0, []
        async with _session(url, user) as (client, _):
            async for image in client.iter_images(owner=owner, keywords=words, max_items=limit):
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
        _console().print(render.images_table(found))
    else:
        typer.echo("no images found", err=True)


@app.command()
@_guarded
def show(
    image_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonOption = False,
    user: UserOption = None,
    url: UrlOption = None,
) -> None:
    """Show every field of one image."""

    async def go() -> ImageJSON:
        async with _session(url, user) as (client, _):
            return await client.get_image(image_id)

    image = asyncio.run(go())
    if as_json:
        typer.echo(render.to_json(image))
    else:
        _console().print(render.image_detail(image))


@app.command()
@_guarded
def get(
    image_id: Annotated[str, typer.Argument(metavar="ID")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File or folder (default: its name, here).", show_default=False
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    user: UserOption = None,
    url: UrlOption = None,
) -> None:
    """Download one image."""

    async def go() -> Path:
        async with _session(url, user) as (client, _):
            dest = output
            if dest is None or dest.is_dir():
                name = safe_filename(await client.get_image(image_id), image_id)
                dest = dest / name if dest is not None else Path(name)
            if dest.exists() and not force:
                raise FileExistsError(
                    errno.EEXIST, "already exists (use --force to replace it)", str(dest)
                )
            return await client.download(image_id, dest)

    dest = asyncio.run(go())
    typer.echo(f"saved {dest}")


@app.command()
@_guarded
def rm(
    image_ids: Annotated[list[str], typer.Argument(metavar="ID...")],
    user: UserOption = None,
    url: UrlOption = None,
) -> None:
    """Delete images (yours, or any as an admin). Exits 1 if any could not be deleted."""

    async def go() -> int:
        failed = 0
        async with _session(url, user) as (client, _):
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


@app.command()
@_guarded
def edit(
    image_id: Annotated[str, typer.Argument(metavar="ID")],
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
    """Change an image's description or visibility."""
    if description is None and public is None:
        raise typer.BadParameter("nothing to change: give --description, --public or --private")

    async def go() -> ImageJSON:
        async with _session(url, user) as (client, _):
            return await client.update_image(
                image_id,
                description=description,
                visibility=None if public is None else ("public" if public else "private"),
            )

    image = asyncio.run(go())
    if as_json:
        typer.echo(render.to_json(image))
    else:
        _console().print(render.image_detail(image))


# -- accounts ---------------------------------------------------------------------------------


@user_app.command("add")
@_guarded
def user_add(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from stdin.")
    ] = False,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not store the new login on this machine.")
    ] = False,
    user: Annotated[
        str | None,
        typer.Option("--user", "--as", help="Admin to act as (default: as for other commands)."),
    ] = None,
    url: UrlOption = None,
) -> None:
    """Create a user. Without --password-stdin a strong password is made and printed once."""
    password = _stdin_password() if password_stdin else secrets.token_urlsafe(18)

    async def go() -> str:
        async with _session(url, user) as (client, tokens):
            created = await client.create_user(name, password, is_admin=admin)
            if not no_save:
                credentials.save_login(tokens.url, name, password)
            return str(created.get("username", name))

    username = asyncio.run(go())
    typer.echo(f"created user {username}" + (" (admin)" if admin else ""))
    if not password_stdin:
        typer.echo(f"password: {password}")
        typer.echo("(shown once" + (")" if no_save else f"; saved in {credentials.config_path()})"))


@app.command()
@_guarded
def login(
    user: UserOption = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    save_password: Annotated[
        bool,
        typer.Option("--save-password", help="Also store the password, not only the token."),
    ] = False,
    url: UrlOption = None,
) -> None:
    """Log in, store the token and make this user the default for the server."""
    server = resolve_url(url)
    username = resolve_username(server, user)
    explicit = _stdin_password() if password_stdin else None

    async def go() -> float:
        password = find_password(server, username, explicit)
        if not password:
            raise missing_credentials(server, username)
        async with ImageRepoClient(server) as client:
            answer = await client.login(username, password)
        expires_at = time.time() + answer.expires_in
        credentials.save_login(
            server,
            username,
            password if save_password else None,
            token=answer.access_token,
            token_expires_at=expires_at,
            make_default=True,
        )
        return expires_at

    expires_at = asyncio.run(go())
    until = time.strftime("%Y-%m-%d %H:%M", time.localtime(expires_at))
    typer.echo(f"logged in as {username} at {server} (token valid until {until})")


@app.command()
@_guarded
def logout(
    user: UserOption = None,
    forget_password: Annotated[
        bool, typer.Option("--forget-password", help="Also remove the stored password.")
    ] = False,
    url: UrlOption = None,
) -> None:
    """Remove the stored token (and with --forget-password the password) for a user."""
    server = resolve_url(url)
    username = resolve_username(server, user)

    def go() -> bool:
        stored = credentials.load_login(server, username)
        if stored is None:
            return False
        if forget_password or not stored.password:
            return credentials.forget_login(server, username)
        credentials.drop_token(server, username)
        typer.echo(
            f"the password of {username} stays stored: commands still log in with it"
            " (`imagerepo logout --forget-password` removes it)",
            err=True,
        )
        return True

    found = go()
    typer.echo(
        f"logged out {username} at {server}"
        if found
        else f"nothing stored for {username} at {server}"
    )


@app.command()
@_guarded
def whoami(user: UserOption = None, url: UrlOption = None) -> None:
    """Show who the server says you are."""

    async def go() -> tuple[UserJSON, str]:
        async with _session(url, user) as (client, _):
            return await client.me(), client.base_url

    me, server = asyncio.run(go())
    _console().print(render.user_line(me, server))


# -- plumbing ---------------------------------------------------------------------------------


@asynccontextmanager
async def _session(
    url: str | None, user: str | None
) -> AsyncIterator[tuple[ImageRepoClient, StoredCredentials]]:
    """A client for the resolved server, authenticated as the resolved user."""
    server = resolve_url(url)
    tokens = StoredCredentials(server, resolve_username(server, user))
    async with ImageRepoClient(server, tokens=tokens) as client:
        yield client, tokens


def _stdin_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise typer.BadParameter("no password on stdin", param_hint="--password-stdin")
    return password


def _console(*, stderr: bool = False) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if console.is_terminal:
        return console
    # Piped: no line wrapping, so each row stays one line for grep and friends.
    return Console(stderr=stderr, highlight=False, width=100_000)


def safe_filename(image: ImageJSON, image_id: str) -> str:
    """A local name for a download: the uploaded file's base name, never a path or a dotfile."""
    name = Path(str(image.get("filename") or "")).name.strip()
    if name and not name.startswith("."):
        return name
    extension = mimetypes.guess_extension(str(image.get("media_type") or "")) or ""
    return f"{image_id}{extension}"


def run_command(name: str, args: list[str], prog_name: str) -> None:
    """Run one subcommand as if it were the whole program: the seed scripts are exactly that."""
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    group.commands[name].main(args, prog_name=prog_name)


def main() -> None:
    """The `imagerepo` console script."""
    app()
