"""The original README's commands, as written, against a real server."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import REPO, LiveServer

pytestmark = pytest.mark.e2e


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def listing(server: LiveServer, *args: str) -> list[dict[str, Any]]:
    result = server.run("client/get_images_client.py", *args, "--json")
    assert result.returncode == 0, result.stderr
    items: list[dict[str, Any]] = json.loads(result.stdout)
    return items


def test_first_start_stored_a_private_root_login(server: LiveServer) -> None:
    config = server.home / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    stored = json.loads(config.read_text())
    assert stored["default_url"] == server.url
    assert stored["logins"][server.url]["users"]["root"]["password"]


def test_upload_files_the_copy_is_stored_once(server: LiveServer) -> None:
    out = ok(
        server.run(
            "client/post_client.py",
            "--file",
            "client/sample_images/cat_1.jpg",
            "--file",
            "client/sample_images2/cat_copied.jpg",
        )
    )
    assert "1 new" in out and "1 already stored" in out and "0 failed" in out
    titles = [i["title"] for i in listing(server)]
    assert titles.count("cat_1") == 1 and "cat_copied" not in titles


def test_upload_folders_and_combinations(server: LiveServer) -> None:
    ok(
        server.run(
            "client/post_client.py",
            "--dir",
            "client/sample_images/",
            "--dir",
            "client/sample_images2/",
        )
    )
    ok(
        server.run(
            "client/post_client.py",
            "--file",
            "client/sample_images/cat_1.jpg",
            "--dir",
            "client/sample_images2/",
        )
    )
    titles = {i["title"] for i in listing(server)}
    assert {"cat_1", "cat_2", "cat_3", "dog_1", "sunset", "bird"} <= titles  # nested/ included


def test_keywords_search_title_and_description(server: LiveServer) -> None:
    cats = {i["title"] for i in listing(server, "--keywords", "cat")}
    assert cats == {"cat_1", "cat_2", "cat_3"}
    assert {i["title"] for i in listing(server, "--keyword", "DOG")} == {"dog_1"}  # 2021 spelling
    table = ok(server.run("client/get_images_client.py", "--keywords", "cat"))
    assert "cat_2" in table and "dog_1" not in table


def test_private_images_of_another_user(server: LiveServer) -> None:
    ok(
        server.run(
            "-m", "imagerepo", "user", "add", "alice", "--password-stdin", stdin="alice-password\n"
        )
    )
    ok(
        server.run(
            "-m", "imagerepo", "user", "add", "bob", "--password-stdin", stdin="bob-password\n"
        )
    )
    ok(
        server.run(
            "client/post_client.py",
            "--user",
            "alice",
            "--private",
            "--description",
            "Alice's secret garden",
            "--file",
            "client/sample_images/dog_1.png",
        )
    )
    mine = listing(server, "--user", "alice", "--keywords", "garden")
    assert [(i["title"], i["visibility"], i["owner"]) for i in mine] == [
        ("dog_1", "private", "alice")
    ]
    assert listing(server, "--user", "bob", "--keywords", "garden") == []
    assert listing(server, "--keywords", "garden") == []  # root is not alice either
    public_titles = {i["title"] for i in listing(server, "--user", "bob")}
    assert "cat_1" in public_titles


def test_a_bad_file_fails_alone_with_a_reason(server: LiveServer) -> None:
    bad = server.home / "notes.jpg"
    bad.write_text("not really a jpeg")
    result = server.run(
        "client/post_client.py", "--file", str(bad), "--file", "client/sample_images/cat_2.jpg"
    )
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "notes.jpg" in out and "Traceback" not in out
    assert "1 failed" in out


def test_unreachable_server_is_one_line(server: LiveServer) -> None:
    result = server.run("client/get_images_client.py", "--url", "http://127.0.0.1:1")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "cannot reach" in result.stderr
    assert "Traceback" not in result.stderr


def test_restart_keeps_everything(server: LiveServer) -> None:
    before = {i["id"] for i in listing(server)}
    server.stop()
    server.start()
    after = {i["id"] for i in listing(server)}
    assert before == after and len(after) >= 6
    assert listing(server, "--user", "alice", "--keywords", "garden")  # logins survive too


def _python_without_imagerepo() -> str | None:
    for candidate in ("/usr/bin/python3", shutil.which("python3")):
        if candidate and Path(candidate).exists():
            probe = subprocess.run(
                [candidate, "-c", "import imagerepo"], capture_output=True, check=False
            )
            if probe.returncode != 0:
                return candidate
    return None


def test_plain_python_uses_the_venv(server: LiveServer) -> None:
    """Right after `make run`, `python client/...` works even if that python lacks imagerepo."""
    python = _python_without_imagerepo()
    if python is None or not (REPO / ".venv" / "bin" / "python").exists():
        pytest.skip("no python without imagerepo here, or no .venv")
    result = subprocess.run(
        [python, "client/get_images_client.py", "--json"],
        cwd=REPO,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)
