"""The plumbing every command shares: the error contract, the client session, consoles, options.

Errors: any `ImageRepoError` (and `OSError` on a local file) ends a command with ONE line,
`error: <message>`, on stderr and exit code 1 (`guarded`); usage errors are typer's, exit code 2.
Which server and which user a command talks to is decided in `imagerepo.client.auth`; `connect`
is the one place a client is built, so tests can hand the commands another transport.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from imagerepo.client.api import ImageRepoClient, TokenProvider
from imagerepo.client.auth import StoredCredentials, resolve_url, resolve_username
from imagerepo.errors import ImageRepoError

R = TypeVar("R")
P = ParamSpec("P")

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
PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the new password from stdin.")
]


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Every expected failure of a command becomes one line on stderr and exit 1, never a
    traceback: an `ImageRepoError` (from either side of the wire) or an `OSError` on a local file.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ImageRepoError as exc:
            fail(exc.message)
        except OSError as exc:
            fail(os_message(exc))
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def fail(message: str) -> NoReturn:
    # typer.echo, not rich: rich would wrap a long message onto several lines.
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def os_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def connect(server: str, tokens: TokenProvider | None = None) -> ImageRepoClient:
    """A client for `server` (the seam tests replace to reach an in-process app)."""
    return ImageRepoClient(server, tokens=tokens)


@asynccontextmanager
async def session(
    url: str | None, user: str | None
) -> AsyncIterator[tuple[ImageRepoClient, StoredCredentials]]:
    """A client for the resolved server, authenticated as the resolved user."""
    server = resolve_url(url)
    tokens = StoredCredentials(server, resolve_username(server, user))
    async with connect(server, tokens) as client:
        yield client, tokens


def stdin_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise typer.BadParameter("no password on stdin", param_hint="--password-stdin")
    return password


def console(*, stderr: bool = False) -> Console:
    found = Console(stderr=stderr, highlight=False)
    if found.is_terminal:
        return found
    # Piped: no line wrapping, so each row stays one line for grep and friends.
    return Console(stderr=stderr, highlight=False, width=100_000)
