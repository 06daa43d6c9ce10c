"""`imagerepo admin reset-password`: on the server's machine, on its data folder, no login."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from imagerepo import credentials
from imagerepo.app import create_app
from imagerepo.cli import app
from imagerepo.config import Settings
from tests.conftest import FAST_ARGON2, ROOT_PASSWORD


@pytest.fixture
def server_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment the server runs with, so the command finds the same library."""
    monkeypatch.setenv("IMAGEREPO_DATA_DIR", str(settings.data_dir))
    for name, value in FAST_ARGON2.items():
        monkeypatch.setenv(f"IMAGEREPO_{name.upper()}", str(value))
    # No metadata cache in this server, so a change made by another process shows at once.
    return settings.model_copy(update={"cache_size": 0})


@pytest.fixture
async def live(server_env: Settings) -> AsyncIterator[httpx.AsyncClient]:
    served = create_app(server_env)
    async with (
        served.router.lifespan_context(served),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url="http://t") as http,
    ):
        yield http


async def admin(*args: str, input: str | None = None) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, ["admin", *args], input=input)


async def token(http: httpx.AsyncClient, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/token", data={"username": "root", "password": password})


async def test_a_lost_root_password_is_reset_and_old_tokens_stop(
    live: httpx.AsyncClient, server_env: Settings
) -> None:
    old = (await token(live, ROOT_PASSWORD)).json()["access_token"]
    url = server_env.public_url
    credentials.save_login(url, "root", ROOT_PASSWORD, token=old, token_expires_at=2e9)

    result = await admin("reset-password", "root")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"reset the password of root in {server_env.data_dir}; tokens issued before no longer work"
    )
    generated = lines[1].removeprefix("password: ")
    assert len(generated) >= 20 and lines[2].startswith("(shown once; saved in ")
    assert credentials.load_login(url, "root") == credentials.StoredLogin(password=generated)
    me = await live.get("/api/v1/users/me", headers={"Authorization": f"Bearer {old}"})
    assert me.status_code == 401 and "revoked" in me.json()["error"]["message"]
    assert (await token(live, ROOT_PASSWORD)).status_code == 401
    assert (await token(live, generated)).status_code == 200


async def test_from_stdin_and_with_data_dir(
    live: httpx.AsyncClient, server_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMAGEREPO_DATA_DIR")
    result = await admin(
        "reset-password",
        "ROOT",
        "--password-stdin",
        "--data-dir",
        str(server_env.data_dir),
        input="chosen-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "password:" not in result.stdout  # chosen, so not printed
    assert (await token(live, "chosen-password")).status_code == 200


async def test_mistakes_are_one_line_and_change_nothing(
    live: httpx.AsyncClient, server_env: Settings, tmp_path: Path
) -> None:
    nowhere = tmp_path / "no-library-here"
    missing = await admin("reset-password", "root", "--data-dir", str(nowhere))
    assert missing.exit_code == 1
    assert missing.stderr.startswith(f"error: no library in {nowhere} (no imagerepo.db)")
    assert not nowhere.exists()

    ghost = await admin("reset-password", "ghost")
    assert (ghost.exit_code, ghost.stderr) == (1, "error: no user 'ghost'\n")
    short = await admin("reset-password", "root", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "8 to 1024 characters" in short.stderr
    assert (await token(live, ROOT_PASSWORD)).status_code == 200
