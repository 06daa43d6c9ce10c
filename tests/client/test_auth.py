"""Credential resolution: which URL, which user, and where the token comes from, in order.

The server is not involved: `Recorder` stands in for `ImageRepoClient` and only records the two
calls the resolver makes (`login`, `health`). Tests of the real round trip live with the app tests.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from imagerepo import credentials
from imagerepo.client.api import ImageRepoClient
from imagerepo.client.auth import (
    EXPIRY_MARGIN_SECONDS,
    StoredCredentials,
    find_password,
    resolve_url,
    resolve_username,
)
from imagerepo.client.schemas import TokenResponse
from imagerepo.config import DEFAULT_URL
from imagerepo.errors import AuthenticationFailed

URL = "http://127.0.0.1:8000"
NOW = 1_000_000.0


class Recorder:
    """Answers `login` with a new token per call, and `health` with ok."""

    def __init__(self) -> None:
        self.logins: list[tuple[str, str]] = []
        self.health_checks = 0

    async def login(self, username: str, password: str) -> TokenResponse:
        self.logins.append((username, password))
        await asyncio.sleep(0)
        return TokenResponse(f"fresh-{len(self.logins)}", "bearer", 3600)

    async def health(self) -> dict[str, Any]:
        self.health_checks += 1
        return {"status": "ok"}

    @property
    def client(self) -> ImageRepoClient:
        return cast(ImageRepoClient, self)


class Terminal:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def server() -> Recorder:
    return Recorder()


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """getpass answers "typed-pw" and records its prompt; stdin is not a terminal by default."""
    asked: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return "typed-pw"

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    monkeypatch.setattr(sys, "stdin", Terminal(tty=False))
    return asked


def provider(**kwargs: Any) -> StoredCredentials:
    return StoredCredentials(URL, "alice", clock=lambda: NOW, **kwargs)


# -- URL and user name -------------------------------------------------------------------------


def test_url_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_url() == DEFAULT_URL
    credentials.save_login("http://stored:1", "root", "pw", make_default=True)
    assert resolve_url() == "http://stored:1"
    monkeypatch.setenv("IMAGEREPO_URL", "http://env:2")
    assert resolve_url() == "http://env:2"
    assert resolve_url("http://flag:3") == "http://flag:3"


def test_user_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_username(URL) == "root"
    credentials.save_login("http://localhost:8000/", "carol", "pw", make_default=True)
    assert resolve_username(URL) == "carol"
    assert resolve_username("http://other:1") == "root"  # defaults are per server
    monkeypatch.setenv("IMAGEREPO_USER", "dave")
    assert resolve_username(URL) == "dave"
    assert resolve_username(URL, "erin") == "erin"


# -- where the token comes from ----------------------------------------------------------------


@pytest.mark.usefixtures("prompts")
async def test_env_password_comes_first(monkeypatch: pytest.MonkeyPatch, server: Recorder) -> None:
    credentials.save_login(
        URL, "alice", "stored-pw", token="stored-tok", token_expires_at=NOW + 999
    )
    monkeypatch.setenv("IMAGEREPO_PASSWORD", "env-pw")
    assert await provider().token(server.client) == "fresh-1"
    assert server.logins == [("alice", "env-pw")]


@pytest.mark.usefixtures("prompts")
async def test_explicit_password_comes_first(server: Recorder) -> None:
    credentials.save_login(
        URL, "alice", "stored-pw", token="stored-tok", token_expires_at=NOW + 999
    )
    assert await provider(password="given-pw").token(server.client) == "fresh-1"
    assert server.logins == [("alice", "given-pw")]


@pytest.mark.usefixtures("prompts")
async def test_a_valid_stored_token_needs_no_login(server: Recorder) -> None:
    credentials.save_login(URL, "alice", "stored-pw", token="stored-tok", token_expires_at=NOW + 60)
    assert await provider().token(server.client) == "stored-tok"
    assert server.logins == []


@pytest.mark.usefixtures("prompts")
async def test_a_stored_token_without_expiry_is_tried(server: Recorder) -> None:
    credentials.save_login(URL, "alice", token="stored-tok")
    assert await provider().token(server.client) == "stored-tok"


@pytest.mark.usefixtures("prompts")
@pytest.mark.parametrize("left", [EXPIRY_MARGIN_SECONDS, 5.0, -100.0])
async def test_a_token_about_to_expire_is_replaced_using_the_stored_password(
    server: Recorder, left: float
) -> None:
    credentials.save_login(URL, "alice", "stored-pw", token="old", token_expires_at=NOW + left)
    assert await provider().token(server.client) == "fresh-1"
    assert server.logins == [("alice", "stored-pw")]


@pytest.mark.usefixtures("prompts")
async def test_a_new_token_is_stored_with_its_expiry(server: Recorder) -> None:
    credentials.save_login(URL, "alice", "stored-pw")
    await provider().token(server.client)
    stored = credentials.load_login(URL, "alice")
    assert stored == credentials.StoredLogin("stored-pw", "fresh-1", NOW + 3600)
    # ... so the next command does not log in again
    again = Recorder()
    assert await provider().token(again.client) == "fresh-1"
    assert again.logins == []


@pytest.mark.usefixtures("prompts")
async def test_remember_false_stores_nothing(
    server: Recorder, isolated_client_config: Path
) -> None:
    await provider(password="pw", remember=False).token(server.client)
    assert not isolated_client_config.exists()


@pytest.mark.usefixtures("prompts")
async def test_an_env_password_is_never_stored(
    monkeypatch: pytest.MonkeyPatch, server: Recorder
) -> None:
    monkeypatch.setenv("IMAGEREPO_PASSWORD", "env-pw")
    await provider().token(server.client)
    stored = credentials.load_login(URL, "alice")
    assert stored is not None
    assert stored.password is None
    assert stored.token == "fresh-1"


async def test_prompt_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, prompts: list[str], server: Recorder
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal(tty=True))
    assert await provider().token(server.client) == "fresh-1"
    assert prompts == [f"Password for alice at {URL}: "]
    assert server.logins == [("alice", "typed-pw")]
    assert server.health_checks == 1  # the server was checked before asking


async def test_without_any_credentials_the_error_says_what_to_do(
    prompts: list[str], server: Recorder
) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        await provider().token(server.client)
    assert caught.value.message == (
        f"no credentials for alice at {URL}: run `imagerepo login --user alice`"
        " or set IMAGEREPO_PASSWORD"
    )
    assert prompts == []
    assert server.logins == []


@pytest.mark.usefixtures("prompts")
async def test_the_token_is_obtained_once_for_many_concurrent_requests(server: Recorder) -> None:
    credentials.save_login(URL, "alice", "stored-pw")
    shared = provider()
    tokens = await asyncio.gather(*(shared.token(server.client) for _ in range(20)))
    assert set(tokens) == {"fresh-1"}
    assert len(server.logins) == 1


# -- a refused token ---------------------------------------------------------------------------


@pytest.mark.usefixtures("prompts")
async def test_a_refused_stored_token_is_dropped_and_the_password_used(server: Recorder) -> None:
    credentials.save_login(URL, "alice", "stored-pw", token="revoked", token_expires_at=NOW + 999)
    shared = provider()
    assert await shared.token(server.client) == "revoked"
    assert await shared.rejected("revoked") is True
    assert credentials.load_login(URL, "alice") == credentials.StoredLogin("stored-pw")
    assert await shared.token(server.client) == "fresh-1"
    assert server.logins == [("alice", "stored-pw")]


@pytest.mark.usefixtures("prompts")
async def test_a_refused_fresh_token_is_final(server: Recorder) -> None:
    shared = provider(password="pw")
    token = await shared.token(server.client)
    assert await shared.rejected(token) is False


@pytest.mark.usefixtures("prompts")
async def test_a_refused_stored_token_without_password_fails_clearly(server: Recorder) -> None:
    credentials.save_login(URL, "alice", token="revoked")
    shared = provider()
    assert await shared.token(server.client) == "revoked"
    assert await shared.rejected("revoked") is True
    with pytest.raises(AuthenticationFailed, match="imagerepo login --user alice"):
        await shared.token(server.client)


@pytest.mark.usefixtures("prompts")
async def test_a_refusal_of_an_already_replaced_token_just_retries(server: Recorder) -> None:
    credentials.save_login(URL, "alice", "stored-pw", token="revoked")
    shared = provider()
    await shared.token(server.client)
    assert await shared.rejected("revoked") is True
    await shared.token(server.client)
    assert await shared.rejected("revoked") is True  # a second worker's late 401
    assert await shared.token(server.client) == "fresh-1"
    assert len(server.logins) == 1


# -- the password alone (used by `imagerepo login`) --------------------------------------------


def test_find_password_order(monkeypatch: pytest.MonkeyPatch) -> None:
    def asked(url: str, user: str) -> str:
        return "typed"

    assert find_password(URL, "alice", prompt=asked) == "typed"
    credentials.save_login(URL, "alice", "stored")
    assert find_password(URL, "alice", prompt=asked) == "stored"
    monkeypatch.setenv("IMAGEREPO_PASSWORD", "env")
    assert find_password(URL, "alice", prompt=asked) == "env"
    assert find_password(URL, "alice", "explicit", prompt=asked) == "explicit"
