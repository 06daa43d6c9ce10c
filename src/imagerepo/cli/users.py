"""`imagerepo user ...`: accounts on the server (admins manage other users)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated

import typer

from imagerepo import credentials
from imagerepo.cli.runner import PasswordStdinOption, UrlOption, guarded, session, stdin_password

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)

AdminOption = Annotated[
    str | None,
    typer.Option("--user", "--as", help="Admin to act as (default: as for other commands)."),
]


@app.command("add")
@guarded
def add(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    password_stdin: PasswordStdinOption = False,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not store the new login on this machine.")
    ] = False,
    user: AdminOption = None,
    url: UrlOption = None,
) -> None:
    """Create a user. Without --password-stdin a strong password is made and printed once."""
    password = stdin_password() if password_stdin else secrets.token_urlsafe(18)

    async def go() -> str:
        async with session(url, user) as (client, tokens):
            created = await client.create_user(name, password, is_admin=admin)
            if not no_save:
                credentials.save_login(tokens.url, name, password)
            return str(created.get("username", name))

    username = asyncio.run(go())
    typer.echo(f"created user {username}" + (" (admin)" if admin else ""))
    if not password_stdin:
        typer.echo(f"password: {password}")
        typer.echo("(shown once" + (")" if no_save else f"; saved in {credentials.config_path()})"))
