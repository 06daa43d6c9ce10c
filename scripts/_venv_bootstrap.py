"""Make the seed scripts (`server/server.py`, `client/*.py`) run with whatever `python` is at hand.

The original README runs them as `python client/post_client.py`. If that interpreter cannot import
imagerepo but the repository's `.venv` (made by `make run`) can, re-run the same command in it;
if there is no `.venv`, say how to make one. One helper for the three scripts, so the rule lives
in one place; it must stay plain old Python (3.7 syntax), since it runs before we know which
interpreter we are in.
"""

import os
import sys

_MARK = "IMAGEREPO_VENV_BOOTSTRAPPED"


def ensure_imagerepo():  # type: () -> None
    try:
        import imagerepo  # noqa: F401
    except ImportError:
        pass
    else:
        return
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    python = os.path.join(repo, ".venv", "bin", "python")
    # Once only: if the venv's python cannot import imagerepo either, exec-ing again would loop.
    if os.path.exists(python) and not os.environ.get(_MARK):
        os.environ[_MARK] = "1"
        os.execv(python, [python, *sys.argv])  # noqa: S606 (the same script, the venv's python)
    sys.stderr.write(
        f"error: imagerepo is not installed for this python: run `make run` in {repo} first\n"
    )
    sys.exit(1)
