"""Upload images, as in the original README: `python client/post_client.py --file ... --dir ...`.

The same as `imagerepo upload`: every `--file` and `--dir` is used and they combine; `--private`,
`--description`, `--tag`, `--user`, `--concurrency`, `--url` as there. With no file or folder
given it uploads `client/sample_images/`, like the 2021 script.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import _venv_bootstrap  # must run before anything imports imagerepo

_venv_bootstrap.ensure_imagerepo()

from imagerepo.cli import run_command  # noqa: E402

SAMPLE_IMAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample_images")


def main() -> None:
    args = ["--default-dir", SAMPLE_IMAGES, *sys.argv[1:]]
    run_command("upload", args, prog_name="post_client.py")


if __name__ == "__main__":
    main()
