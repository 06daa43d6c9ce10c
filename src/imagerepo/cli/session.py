"""`imagerepo login`, `logout`, `whoami`: the login stored on this machine."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer

from imagerepo import credentials
from imagerepo.cli.runner import (
    JsonOption,
    UrlOption,
    UserOption,
    connect,
    console,
    guarded,
    session,
    stdin_password,
)
from imagerepo.client import render
from imagerepo.client.auth import find_password, missing_credentials, resolve_url, resolve_username
from imagerepo.client.schemas import UserJSON


@guarded
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
    explicit = stdin_password() if password_stdin else None

    async def go() -> float:
        password = find_password(server, username, explicit)
        if not password:
            raise missing_credentials(server, username)
        async with connect(server) as client:
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


@guarded
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


@guarded
def whoami(as_json: JsonOption = False, user: UserOption = None, url: UrlOption = None) -> None:
    """Show who the server says you are, and your role (admin or user)."""

    async def go() -> tuple[UserJSON, str]:
        async with session(url, user) as (client, _):
            return await client.me(), client.base_url

    me, server = asyncio.run(go())
    if as_json:
        typer.echo(render.to_json(me))
    else:
        console().print(render.user_line(me, server))
