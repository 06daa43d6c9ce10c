"""List images, as in the original README: `python client/get_images_client.py --user NAME`.

The same as `imagerepo images`: `--user` (whose private images are included), `--keywords` (also
`--keyword`, `-k`), `--owner`, `--limit`, `--json`, `--url`, and the search options `--q`
(full text), `--sort`, `--tag` and `--filter FIELD=VALUE`.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import _venv_bootstrap  # must run before anything imports imagerepo

_venv_bootstrap.ensure_imagerepo()

from imagerepo.cli import run_command  # noqa: E402


def main() -> None:
    run_command("images", sys.argv[1:], prog_name="get_images_client.py")


if __name__ == "__main__":
    main()
