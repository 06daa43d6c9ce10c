"""The `imagerepo` command (also `python -m imagerepo` and the seed scripts).

    imagerepo serve                        run the server                      serve.py
    imagerepo upload PATHS -f FILE -d DIR  sync files: hash, ask, send         upload.py
    imagerepo images / show / get / rm / edit                                  images.py
    imagerepo similar FILE|ID / tag ID +a -b                                   search.py
    imagerepo user add / list / delete / passwd                                users.py
    imagerepo login / logout / whoami                                          session.py
    imagerepo admin reset-password         on the server's machine, no login   admin.py
    imagerepo migrate / check-config       schema; can it reach its services   ops.py
    imagerepo gc                           remove unreferenced originals       gc.py
    imagerepo worker                       job workers (scaled profile)        worker.py

`runner.py` holds what every command shares: the one-line error contract, the client session
and the consoles. Server code is imported only by `serve` and `admin`, inside the commands, so
the client commands start fast and work without it installed.
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from imagerepo.cli import admin, gc, images, ops, search, serve, session, upload, users, worker

app = typer.Typer(
    name="imagerepo",
    help="A self-hosted, multi-user image repository: server and client.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold passwords and tokens
)
# The command table, in the order `--help` lists it.
app.command()(serve.serve)
app.command()(upload.upload)
app.command()(images.images)
app.command()(images.show)
app.command()(images.get)
app.command()(images.rm)
app.command()(images.edit)
app.command()(search.similar)
app.command(context_settings={"ignore_unknown_options": True})(search.tag)
app.add_typer(users.app, name="user")
app.add_typer(admin.app, name="admin")
app.command()(ops.migrate)
app.command()(gc.gc)
app.command("check-config")(ops.check_config)
app.command()(worker.worker)
app.command()(session.login)
app.command()(session.logout)
app.command()(session.whoami)


def run_command(name: str, args: list[str], prog_name: str) -> None:
    """Run one subcommand as if it were the whole program: the seed scripts are exactly that."""
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    group.commands[name].main(args, prog_name=prog_name)


def main() -> None:
    """The `imagerepo` console script."""
    app()


__all__ = ["app", "main", "run_command"]
