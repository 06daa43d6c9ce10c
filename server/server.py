"""Start the server, as in the original README: `python server/server.py`.

The same as `imagerepo serve`: settings from IMAGEREPO_* variables, `--host`, `--port` and
`--data-dir` override them.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import _venv_bootstrap  # must run before anything imports imagerepo

_venv_bootstrap.ensure_imagerepo()

from imagerepo.cli import run_command  # noqa: E402


def main() -> None:
    run_command("serve", sys.argv[1:], prog_name="server.py")


if __name__ == "__main__":
    main()
