"""Login, tokens, and user administration."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from imagerepo.app import create_app
from imagerepo.config import Settings
from tests.api.helpers import assert_error
from tests.conftest import ROOT_PASSWORD


async def test_login_and_me(http: httpx.AsyncClient, root: dict[str, str]) -> None:
    me = (await http.get("/api/v1/users/me", headers=root)).json()
    assert me["username"] == "root" and me["is_admin"] is True


async def test_wrong_password_and_unknown_user_look_the_same(http: httpx.AsyncClient) -> None:
    wrong = await http.post("/api/v1/auth/token", data={"username": "root", "password": "nope"})
    unknown = await http.post("/api/v1/auth/token", data={"username": "ghost", "password": "nope"})
    assert_error(wrong, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()
    assert_error(await http.post("/api/v1/auth/token", data={"username": "root"}), 422)


async def test_only_admins_create_users(
    http: httpx.AsyncClient, root: dict[str, str], alice: dict[str, str]
) -> None:
    body = {"username": "carol", "password": "carol-password"}
    assert_error(await http.post("/api/v1/users", json=body, headers=alice), 403, "forbidden")
    assert (await http.post("/api/v1/users", json=body, headers=root)).status_code == 201
    assert_error(await http.post("/api/v1/users", json=body, headers=root), 409, "conflict")
    for bad in (
        {"username": "Bad Name!", "password": "long-enough"},
        {"username": "dave", "password": "short"},
    ):
        assert_error(await http.post("/api/v1/users", json=bad, headers=root), 422)


async def test_passwords_are_stored_as_argon2id(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    import sqlite3

    with sqlite3.connect(settings.data_dir / "imagerepo.db") as db:
        (stored,) = db.execute("SELECT password_hash FROM users WHERE username='root'").fetchone()
    assert stored.startswith("$argon2id$") and ROOT_PASSWORD not in stored


async def test_tokens_expire(settings: Settings) -> None:
    long_ago = datetime.now(UTC) - timedelta(seconds=settings.token_ttl_seconds + 60)
    app = create_app(settings, clock=lambda: long_ago)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        answer = await http.post(
            "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
        )
        token = answer.json()["access_token"]
        me = await http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert_error(me, 401, "not_authenticated")
        assert "expired" in me.json()["error"]["message"]


async def test_first_start_generates_root_and_stores_a_private_login(
    tmp_path: Path, isolated_client_config: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "fresh", argon2_time_cost=2, argon2_memory_kib=19456)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass
    assert stat.S_IMODE(isolated_client_config.stat().st_mode) == 0o600
    stored = json.loads(isolated_client_config.read_text())
    password = stored["logins"][settings.public_url]["users"]["root"]["password"]
    assert len(password) >= 16
    assert stat.S_IMODE((settings.data_dir / "secret_key").stat().st_mode) == 0o600
    # The stored password works, and a restart neither regenerates it nor the signing key.
    key = (settings.data_dir / "secret_key").read_text()
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        answer = await http.post(
            "/api/v1/auth/token", data={"username": "root", "password": password}
        )
        assert answer.status_code == 200
    assert (settings.data_dir / "secret_key").read_text() == key
    assert json.loads(isolated_client_config.read_text()) == stored
