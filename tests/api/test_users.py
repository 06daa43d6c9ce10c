"""Login, tokens, and user administration."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from imagerepo.app import create_app
from imagerepo.config import Settings
from tests.api.helpers import assert_error, upload
from tests.conftest import ROOT_PASSWORD, Login
from tests.images import make_image


@asynccontextmanager
async def serving(settings: Settings, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app started on `settings` (and stopped after), for tests that need
    their own app rather than the `http` fixture's."""
    app = create_app(settings, **options)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        yield http


async def log_in(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/token", data={"username": username, "password": password})


async def test_login_and_me(http: httpx.AsyncClient, root: dict[str, str]) -> None:
    me = (await http.get("/api/v1/users/me", headers=root)).json()
    assert me["username"] == "root" and me["is_admin"] is True


async def test_wrong_password_and_unknown_user_look_the_same(http: httpx.AsyncClient) -> None:
    wrong = await log_in(http, "root", "nope")
    unknown = await log_in(http, "ghost", "nope")
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


@pytest.mark.sqlite_only("reads the SQLite file itself")
async def test_passwords_are_stored_as_argon2id(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    import sqlite3

    with sqlite3.connect(settings.data_dir / "imagerepo.db") as db:
        (stored,) = db.execute("SELECT password_hash FROM users WHERE username='root'").fetchone()
    assert stored.startswith("$argon2id$") and ROOT_PASSWORD not in stored


async def test_tokens_expire(settings: Settings) -> None:
    long_ago = datetime.now(UTC) - timedelta(seconds=settings.token_ttl_seconds + 60)
    async with serving(settings, clock=lambda: long_ago) as http:
        answer = await log_in(http, "root", ROOT_PASSWORD)
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
    async with serving(settings) as http:
        assert (await log_in(http, "root", password)).status_code == 200
    assert (settings.data_dir / "secret_key").read_text() == key
    assert json.loads(isolated_client_config.read_text()) == stored


# -- names ------------------------------------------------------------------------------------


async def create(
    http: httpx.AsyncClient, headers: dict[str, str], username: str, **extra: object
) -> httpx.Response:
    body = {"username": username, "password": f"{username}-password", **extra}
    return await http.post("/api/v1/users", json=body, headers=headers)


async def test_separators_only_between_letters_and_digits(
    http: httpx.AsyncClient, root: dict[str, str]
) -> None:
    for good in ("a", "a.b", "a-b_c", "x1", "j.r.r-t_2", "A" * 64):
        assert (await create(http, root, good)).status_code == 201, good
    for bad in ("root.", "-x", ".x", "x..y", "x_-y", "x__y", "x y", "x!", "", "b" * 65, "é"):
        assert_error(await create(http, root, bad), 422)
    assert_error(await create(http, root, "ME"), 422)  # /users/me is yourself


async def test_look_alike_names_are_refused(http: httpx.AsyncClient, root: dict[str, str]) -> None:
    for twin in ("r.oot", "ro_ot", "r-o-o-t", "ROOT"):
        answer = await create(http, root, twin)
        assert_error(answer, 409, "conflict")
        assert "root" in answer.json()["error"]["message"]
    assert "already exists" in (await create(http, root, "Root")).json()["error"]["message"]
    assert (await create(http, root, "mary-ann")).status_code == 201
    assert_error(await create(http, root, "maryann"), 409)
    assert_error(await create(http, root, "mary.ann"), 409)


async def test_look_alikes_created_at_once_cannot_both_win(
    http: httpx.AsyncClient, root: dict[str, str]
) -> None:
    """The service's check runs before either insert; the database's unique skeleton decides."""
    import asyncio

    answers = await asyncio.gather(*(create(http, root, n) for n in ("bo.b", "b.ob", "b-o-b")))
    assert sorted(a.status_code for a in answers) == [201, 409, 409]


@pytest.mark.sqlite_only("builds an old schema in the SQLite file by hand")
async def test_an_old_database_keeps_its_look_alikes_but_gets_no_new_ones(
    settings: Settings,
) -> None:
    """Migration 0003: the oldest of two look-alikes gets the skeleton, the other keeps working."""
    import sqlite3

    from alembic import command

    from imagerepo.db.engine import alembic_config, create_engine

    settings.data_dir.mkdir(parents=True)
    url = settings.resolved_database_url
    engine = create_engine(url)

    def to_0002(connection: object) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")

    async with engine.begin() as connection:
        await connection.run_sync(to_0002)
    await engine.dispose()
    with sqlite3.connect(settings.data_dir / "imagerepo.db") as db:
        db.executemany(
            "INSERT INTO users (id, username, password_hash, is_admin, created_at)"
            " VALUES (?, ?, 'x', 0, ?)",
            [("u1", "eve", "2025-01-01"), ("u2", "e.ve", "2025-01-02")],
        )

    async with serving(settings) as http:
        answer = await log_in(http, "root", ROOT_PASSWORD)
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        assert_error(await create(http, headers, "ev-e"), 409)
        names = {
            u["username"]
            for u in (await http.get("/api/v1/users", headers=headers)).json()["items"]
        }
        assert {"eve", "e.ve", "root"} <= names
    with sqlite3.connect(settings.data_dir / "imagerepo.db") as db:
        rows = dict(db.execute("SELECT username, username_skeleton FROM users").fetchall())
    assert rows == {"eve": "eve", "e.ve": None, "root": "root"}


# -- listing and deleting ---------------------------------------------------------------------


async def test_admins_list_users_with_image_counts(
    http: httpx.AsyncClient, root: dict[str, str], alice: dict[str, str], bob: dict[str, str]
) -> None:
    await upload(http, alice, make_image(seed=1))
    await upload(http, alice, make_image(seed=2), visibility="private")
    answer = await http.get("/api/v1/users", headers=root)
    assert answer.status_code == 200, answer.text
    listed = {u["username"]: (u["image_count"], u["is_admin"]) for u in answer.json()["items"]}
    assert listed == {"alice": (2, False), "bob": (0, False), "root": (0, True)}
    assert_error(await http.get("/api/v1/users", headers=alice), 403, "forbidden")


async def test_who_may_be_deleted(
    http: httpx.AsyncClient, root: dict[str, str], alice: dict[str, str], login: Login
) -> None:
    assert_error(await http.delete("/api/v1/users/bob", headers=alice), 403)
    assert_error(await http.delete("/api/v1/users/ghost", headers=root), 404, "not_found")
    assert (await create(http, root, "carol", is_admin=True)).status_code == 201
    carol = await login("carol", "carol-password")
    answer = await http.delete("/api/v1/users/root", headers=carol)
    assert_error(answer, 403)
    assert "root cannot be deleted" in answer.json()["error"]["message"]
    answer = await http.delete("/api/v1/users/carol", headers=carol)
    assert_error(answer, 403)
    assert "yourself" in answer.json()["error"]["message"]
    deleted = await http.delete("/api/v1/users/carol", headers=root)
    assert deleted.json() == {"username": "carol", "images_deleted": 0}
    assert_error(await http.get("/api/v1/users/me", headers=carol), 401, "not_authenticated")


async def test_a_user_with_images_is_deleted_only_when_told_what_to_do_with_them(
    http: httpx.AsyncClient, root: dict[str, str], alice: dict[str, str]
) -> None:
    ids = [(await upload(http, alice, make_image(seed=s)))["id"] for s in (1, 2, 3)]

    refused = await http.delete("/api/v1/users/alice", headers=root)
    assert_error(refused, 409, "conflict")
    message = refused.json()["error"]["message"]
    assert "alice owns 3 images" in message and "delete_images=true" in message
    assert (await http.get("/api/v1/users/me", headers=alice)).status_code == 200  # untouched
    explicit_no = await http.delete("/api/v1/users/alice?delete_images=false", headers=root)
    assert_error(explicit_no, 409)

    deleted = await http.delete("/api/v1/users/alice?delete_images=true", headers=root)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"username": "alice", "images_deleted": 3}
    for image_id in ids:
        assert_error(await http.get(f"/api/v1/images/{image_id}", headers=root), 404)
    assert_error(await http.get("/api/v1/users/me", headers=alice), 401)
    listed = (await http.get("/api/v1/users", headers=root)).json()["items"]
    assert [u["username"] for u in listed] == ["root"]


# -- passwords --------------------------------------------------------------------------------


async def test_changing_your_password_needs_the_current_one_and_revokes_tokens(
    http: httpx.AsyncClient, alice: dict[str, str], login: Login
) -> None:
    route = "/api/v1/users/me/password"
    assert_error(await http.put(route, json={"password": "new-password"}, headers=alice), 422)
    wrong = {"password": "new-password", "current_password": "not-it"}
    assert_error(await http.put(route, json=wrong, headers=alice), 403, "forbidden")
    assert_error(await http.put(route, json={"password": "short"}, headers=alice), 422)
    assert (await http.get("/api/v1/users/me", headers=alice)).status_code == 200  # still valid

    body = {"password": "new-password", "current_password": "alice-password"}
    changed = await http.put(route, json=body, headers=alice)
    assert changed.status_code == 204, changed.text

    stale = await http.get("/api/v1/users/me", headers=alice)
    assert_error(stale, 401, "not_authenticated")
    assert "revoked" in stale.json()["error"]["message"]
    old = await log_in(http, "alice", "alice-password")
    assert_error(old, 401, "invalid_credentials")
    fresh = await login("alice", "new-password")
    assert (await http.get("/api/v1/users/me", headers=fresh)).status_code == 200
    # Your own name works like `me`.
    again = {"password": "third-password", "current_password": "new-password"}
    assert (
        await http.put("/api/v1/users/alice/password", json=again, headers=fresh)
    ).status_code == 204


async def test_admins_set_other_passwords_but_not_roots(
    http: httpx.AsyncClient,
    root: dict[str, str],
    alice: dict[str, str],
    bob: dict[str, str],
    login: Login,
) -> None:
    body = {"password": "set-by-root"}
    assert_error(await http.put("/api/v1/users/bob/password", json=body, headers=alice), 403)
    assert_error(await http.put("/api/v1/users/ghost/password", json=body, headers=root), 404)
    answer = await http.put("/api/v1/users/alice/password", json=body, headers=root)
    assert answer.status_code == 204, answer.text
    assert_error(await http.get("/api/v1/users/me", headers=alice), 401)
    assert (await http.get("/api/v1/users/me", headers=bob)).status_code == 200  # only alice's
    assert (await http.get("/api/v1/users/me", headers=root)).status_code == 200
    await login("alice", "set-by-root")

    assert (await create(http, root, "carol", is_admin=True)).status_code == 201
    carol = await login("carol", "carol-password")
    refused = await http.put("/api/v1/users/root/password", json=body, headers=carol)
    assert_error(refused, 403)
    assert "reset-password" in refused.json()["error"]["message"]
