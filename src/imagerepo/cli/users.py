"""`imagerepo user ...`: accounts on the server. Admins add, list and delete users and set their
passwords; anyone changes their own password. Logins stored on this machine follow along."""

from __future__ import annotations

import asyncio
import getpass
import secrets
import sys
import time
from typing import Annotated

import typer

from imagerepo import credentials
from imagerepo.cli.runner import (
    JsonOption,
    PasswordStdinOption,
    UrlOption,
    console,
    fail,
    guarded,
    session,
    stdin_password,
)
from imagerepo.client import render
from imagerepo.client.api import ImageRepoClient
from imagerepo.client.auth import PASSWORD_ENV, find_password
from imagerepo.client.schemas import UserListItemJSON
from imagerepo.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(metavar="NAME")]
AdminOption = Annotated[
    str | None,
    typer.Option("--user", "--as", help="Admin to act as (default: as for other commands)."),
]


@app.command("add")
@guarded
def add(
    name: NameArgument,
    password_stdin: PasswordStdinOption = False,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not store the new login on this machine.")
    ] = False,
    user: AdminOption = None,
    url: UrlOption = None,
) -> None:
    """Create a user. Without --password-stdin a strong password is made and printed once."""
    password = stdin_password() if password_stdin else new_password()

    async def go() -> str:
        async with session(url, user) as (client, tokens):
            created = await client.create_user(name, password, is_admin=admin)
            username = str(created.get("username", name))
            if not no_save:
                credentials.save_login(tokens.url, username, password)
            return username

    username = asyncio.run(go())
    typer.echo(f"created user {username}" + (" (admin)" if admin else ""))
    if not password_stdin:
        show_password(password, saved=not no_save)


@app.command("list")
@guarded
def list_users(
    as_json: JsonOption = False, user: AdminOption = None, url: UrlOption = None
) -> None:
    """List every user with their role and how many images they own (admins)."""

    async def go() -> list[UserListItemJSON]:
        async with session(url, user) as (client, _):
            return await client.list_users()

    users = asyncio.run(go())
    if as_json:
        typer.echo(render.to_json(users))
    else:
        console().print(render.users_table(users))


@app.command("delete")
@guarded
def delete(
    name: NameArgument,
    delete_images: Annotated[
        bool,
        typer.Option(
            "--delete-images",
            help="Also delete every image the user owns (asks first; without this flag a user"
            " who owns images is not deleted).",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before deleting images.")
    ] = False,
    user: AdminOption = None,
    url: UrlOption = None,
) -> None:
    """Delete a user (admins). Never root, never yourself, never the last admin."""

    async def go() -> int:
        async with session(url, user) as (client, tokens):
            if delete_images and not yes:
                count = await _image_count(client, name)
                if count and not _confirm(
                    f"Delete user {name} and the {_images(count)} they own? This cannot be undone."
                ):
                    fail("nothing was deleted")
            try:
                deleted = await client.delete_user(name, delete_images=delete_images)
            except Conflict as exc:
                count = 0 if delete_images else await _image_count(client, name)
                if not count:
                    raise  # the last admin, or images arrived while deleting: the server's word
                raise Conflict(
                    f"{name} owns {_images(count)}, so nothing was deleted: add --delete-images"
                    " to delete them with the account (it asks first)"
                ) from exc
            credentials.forget_login(tokens.url, name.lower())
            return deleted

    deleted = asyncio.run(go())
    typer.echo(f"deleted user {name.lower()}" + (f" and {_images(deleted)}" if deleted else ""))


@app.command("passwd")
@guarded
def passwd(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="[NAME]",
            help="Whose password (admins; default: yours, which needs your current one).",
            show_default=False,
        ),
    ] = None,
    password_stdin: PasswordStdinOption = False,
    user: AdminOption = None,
    url: UrlOption = None,
) -> None:
    """Change a password; every login of that user made before is signed out.

    Without --password-stdin a strong password is made and printed once.
    Your current password comes from $IMAGEREPO_PASSWORD, the stored login, or a prompt.
    A login of that user stored on this machine is updated.
    """
    password = stdin_password() if password_stdin else new_password()

    async def go() -> tuple[str, bool]:
        async with session(url, user) as (client, tokens):
            me = tokens.username
            target = (name or me).strip().lower()
            if target == me:
                await _change_own(client, tokens.url, me, password)
            else:
                await client.change_password(target, password)
            stored = credentials.load_login(tokens.url, target)
            if target != me and stored is not None:
                credentials.drop_token(tokens.url, target)  # revoked by the server anyway
            if stored is not None and stored.password:
                credentials.save_login(tokens.url, target, password)
                return target, True
            return target, False

    target, saved = asyncio.run(go())
    typer.echo(f"changed the password of {target}; tokens issued before no longer work")
    if not password_stdin:
        show_password(password, saved=saved)


async def _change_own(client: ImageRepoClient, server: str, me: str, password: str) -> None:
    """Change your own password, then log in with it so the next command needs nothing."""
    current = find_password(server, me, prompt=_ask_current)
    if not current:
        raise AuthenticationFailed(
            f"changing your own password needs the current one: set {PASSWORD_ENV}"
            " or run this on a terminal"
        )
    await client.change_password("me", password, current_password=current)
    answer = await client.login(me, password)
    expires_at = time.time() + answer.expires_in
    credentials.save_login(server, me, token=answer.access_token, token_expires_at=expires_at)


def _ask_current(url: str, username: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(f"Current password of {username} at {url}: ")


async def _image_count(client: ImageRepoClient, name: str) -> int:
    try:
        users = await client.list_users()
    except PermissionDenied as exc:
        raise PermissionDenied("only an admin can delete users") from exc
    for found in users:
        if found.get("username") == name.strip().lower():
            return int(found.get("image_count", 0))
    raise NotFound(f"no user {name.strip().lower()!r}")


def _confirm(question: str) -> bool:
    try:
        return typer.confirm(question, default=False, err=True)
    except typer.Abort:  # end of input: nobody said yes
        typer.echo("", err=True)
        return False


def _images(count: int) -> str:
    return "1 image" if count == 1 else f"{count} images"


def new_password() -> str:
    """A strong generated password (24 characters, 144 bits)."""
    return secrets.token_urlsafe(18)


def show_password(password: str, *, saved: bool) -> None:
    """Print a generated password, once, and where it was stored if it was."""
    typer.echo(f"password: {password}")
    typer.echo(f"(shown once; saved in {credentials.config_path()})" if saved else "(shown once)")
