"""The README runs as written: its quick start, seed and users blocks, in order, in a fresh HOME.

`make run` is started in the background exactly as written (`make test` is skipped: it is what
runs this test); every other line of those blocks is run by one bash, top to bottom, with
`set -e`, so a command that fails, or a block that stops making sense, fails this test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import REPO, free_port

SECTIONS = ("## Quick start", "## The seed commands", "## Users")
pytestmark = pytest.mark.e2e


def shell_blocks(readme: str, heading: str) -> list[str]:
    section = readme.split(heading + "\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def readme_script() -> tuple[bool, str]:
    """(does the quick start say `make run`, the rest of the blocks as one script)."""
    readme = (REPO / "README.md").read_text()
    lines: list[str] = []
    starts_server = False
    for heading in SECTIONS:
        for block in shell_blocks(readme, heading):
            for line in block.splitlines():
                command = line.split("#", 1)[0].strip()
                if command in ("make run", "make test"):
                    starts_server |= command == "make run"
                    continue
                lines.append(line)
    return starts_server, "\n".join(lines)


def test_the_readme_blocks_are_found() -> None:
    starts_server, script = readme_script()
    assert starts_server
    assert "post_client.py" in script and "get_images_client.py" in script
    assert "imagerepo user add alice" in script
    # Users are created before they are used.
    assert script.index("user add alice") < script.index("--user alice")
    assert "server/server.py" not in script  # one server: `make run` already started it


def test_readme_runs_as_written(tmp_path: Path) -> None:
    _, script = readme_script()
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEREPO_", "XDG_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        HOME=str(home),
        IMAGEREPO_PORT=str(port),  # the one difference from a newcomer's machine: a free port
        IMAGEREPO_ARGON2_TIME_COST="2",
        IMAGEREPO_ARGON2_MEMORY_KIB="19456",
    )
    env["PATH"] = ":".join(
        p for p in env.get("PATH", "").split(":") if not p.startswith(str(REPO / ".venv"))
    )
    if (REPO / "data" / "imagerepo.db").exists():
        # A developer's own library from the old default would be picked up: keep it out.
        env["IMAGEREPO_DATA_DIR"] = str(home / ".local" / "share" / "imagerepo")
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["make", "run"], cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", server, log_path)
            done = subprocess.run(
                ["bash", "-c", "set -euo pipefail\n" + script],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        finally:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    server_log = log_path.read_text()
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{output}\n--- server ---\n{server_log}"

    # First start: root's password shown once, with where the login went; the library's path.
    password_line = next(line for line in server_log.splitlines() if "created user 'root'" in line)
    assert "password" in password_line and "config.json" in password_line
    assert str(home / ".local" / "share" / "imagerepo") in server_log
    # What the blocks promise in their comments and prose.
    assert "root" in done.stdout and "admin" in done.stdout  # whoami
    assert "0 new, 5 updated, 0 already stored, 0 failed" in output
    assert "alice's parrot" in done.stdout
    assert not (REPO / "-").exists()


def wait_for(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120  # `make run` may install first
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"make run exited: {log_path.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # waiting for a subprocess to bind, not for timing
    raise AssertionError(f"make run did not serve within 120 s: {log_path.read_text()}")
