"""`imagerepo serve`, and the server settings the commands that run on the server's machine use.

Server code is imported inside the commands only, so the client commands start fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagerepo.cli.runner import fail, guarded

if TYPE_CHECKING:
    from imagerepo.config import Settings

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data folder (default: $IMAGEREPO_DATA_DIR, else ~/.local/share/imagerepo, or"
        " ./data where it already holds a library).",
        show_default=False,
    ),
]


def server_settings(**overrides: Any) -> Settings:
    """`Settings` from IMAGEREPO_* variables, with the flags that were given (not None) on top;
    an invalid value ends the command with one line naming it."""
    from pydantic import ValidationError

    from imagerepo.config import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fail(f"invalid settings: {problems}")


def metrics_dir_problem() -> str | None:
    """What is wrong with `PROMETHEUS_MULTIPROC_DIR`, if it is set (see `imagerepo.metrics`);
    asked before anything imports prometheus_client, which would fail on first use instead."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return None
    if not Path(path).is_dir() or not os.access(path, os.W_OK | os.X_OK):
        return (
            f"PROMETHEUS_MULTIPROC_DIR={path} is not a folder this user can write: create it"
            " (empty) before the first server process of this host starts"
        )
    return None


@guarded
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default: 8000).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the server. Settings come from IMAGEREPO_* variables; these flags override them."""
    settings = server_settings(host=host, port=port, data_dir=data_dir)
    if problem := metrics_dir_problem():
        fail(problem)
    from imagerepo.serve import serve as run_server

    run_server(settings)
