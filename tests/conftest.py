"""Fixtures: the app built from its factory on a real SQLite file, driven in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from imagerepo.app import create_app
from imagerepo.config import Settings
from tests.databases import (  # noqa: F401
    add_option,
    database_url,
    module_database_url,
    postgres_databases,
    skip_sqlite_only,
)
from tests.profiles import add_option as add_profile_option
from tests.profiles import backend_settings, module_backend_env, skip_embedded_only  # noqa: F401
from tests.services import nginx_proxy, postgres_url, redis_url, s3_service, services_dir  # noqa: F401

ROOT_PASSWORD = "root-password-for-tests"
FAST_ARGON2 = {"argon2_time_cost": 2, "argon2_memory_kib": 19456}  # OWASP minimum, ~25 ms


@pytest.fixture(autouse=True)
def isolated_client_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own client login store and no inherited imagerepo settings."""
    import os

    for name in list(os.environ):
        if name.startswith("IMAGEREPO_") and name != "IMAGEREPO_SHARED_DATA":
            monkeypatch.delenv(name)
    path = tmp_path / "client-config" / "config.json"
    monkeypatch.setenv("IMAGEREPO_CONFIG", str(path))
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    add_option(parser)  # --database=sqlite|postgres
    add_profile_option(parser)  # --profile=embedded|scaled (scaled: PostgreSQL, S3, Redis)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_sqlite_only(config, items)
    skip_embedded_only(config, items)


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    backends: dict[str, Any] = request.getfixturevalue("backend_settings")
    return Settings(
        data_dir=tmp_path / "data",
        # None: SQLite in data_dir (the default profile); else this test's PostgreSQL database.
        database_url=request.getfixturevalue("database_url"),
        root_password=ROOT_PASSWORD,  # type: ignore[arg-type]
        secret_key="k" * 48,  # type: ignore[arg-type]
        **FAST_ARGON2,  # type: ignore[arg-type]
        **backends,  # scaled profile: this test's S3 prefix and Redis database
    )


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to a freshly started app (lifespan run), no network involved."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://imagerepo.test"
        ) as client,
    ):
        yield client


Login = Callable[[str, str], Awaitable[dict[str, str]]]


@pytest.fixture
def login(http: httpx.AsyncClient) -> Login:
    async def do(username: str, password: str) -> dict[str, str]:
        answer = await http.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    return do


@pytest.fixture
async def root(login: Login) -> dict[str, str]:
    return await login("root", ROOT_PASSWORD)


MakeUser = Callable[[str], Awaitable[dict[str, str]]]


@pytest.fixture
def make_user(http: httpx.AsyncClient, root: dict[str, str], login: Login) -> MakeUser:
    """Create a user through the API (as root) and return their auth headers."""

    async def do(username: str) -> dict[str, str]:
        password = f"{username}-password"
        answer = await http.post(
            "/api/v1/users", json={"username": username, "password": password}, headers=root
        )
        assert answer.status_code == 201, answer.text
        return await login(username, password)

    return do


@pytest.fixture
async def alice(make_user: MakeUser) -> dict[str, str]:
    return await make_user("alice")


@pytest.fixture
async def bob(make_user: MakeUser) -> dict[str, str]:
    return await make_user("bob")
