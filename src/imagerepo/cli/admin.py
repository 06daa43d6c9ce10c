"""`imagerepo admin ...`: run on the server's machine, on its data folder, without logging in.

For what the API cannot do because nobody can log in, such as a lost root password. These
commands build the same services as the server (`imagerepo.wiring.build_services`), so the rules
are the server's; anyone who can read and write the data folder can run them, which is the same
trust as a local database gives its own machine.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from imagerepo import credentials
from imagerepo.cli.runner import PasswordStdinOption, fail, guarded, stdin_password
from imagerepo.cli.serve import DataDirOption, server_settings
from imagerepo.cli.users import new_password, show_password

app = typer.Typer(
    help="Work on the server's data folder directly, on its machine, without logging in.",
    no_args_is_help=True,
)


@app.command("reset-password")
@guarded
def reset_password(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    password_stdin: PasswordStdinOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Set a user's password (a lost root password, say); their tokens stop working.

    Without --password-stdin a strong password is made and printed once.
    A login of that user stored on this machine for the server is updated.
    """
    password = stdin_password() if password_stdin else new_password()
    settings = server_settings(data_dir=data_dir)
    database = settings.data_dir / "imagerepo.db"
    if settings.database_url is None and not database.is_file():
        fail(
            f"no library in {settings.data_dir} (no {database.name}): give the server's folder"
            " with --data-dir or IMAGEREPO_DATA_DIR"
        )

    async def go() -> None:
        from imagerepo.wiring import build_services

        async with build_services(settings, run_jobs=False) as services:  # jobs: the server's
            await services.users.reset_password(name, password)

    asyncio.run(go())
    username = name.strip().lower()
    stored = credentials.load_login(settings.public_url, username)
    saved = stored is not None and bool(stored.password)
    if stored is not None:
        credentials.drop_token(settings.public_url, username)
    if saved:
        credentials.save_login(settings.public_url, username, password)
    typer.echo(
        f"reset the password of {username} in {settings.data_dir};"
        " tokens issued before no longer work"
    )
    if not password_stdin:
        show_password(password, saved=saved)
