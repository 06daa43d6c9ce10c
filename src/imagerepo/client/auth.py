"""Which server, which user, and how to prove it: the client's credential resolution.

Server URL: `--url` → `$IMAGEREPO_URL` → the store's default → `DEFAULT_URL` (the server's).
User name:  `--user` → `$IMAGEREPO_USER` → the store's default for that URL → `root`.
Token, first that works:
  1. an explicit password (`--password-stdin`) or `$IMAGEREPO_PASSWORD` — logs in;
  2. a stored token still valid for 30 more seconds — no round trip at all;
  3. a stored password (written by the server's first start or `user add`) — logs in;
  4. a `getpass` prompt, only when stdin is a terminal — logs in;
  5. otherwise `AuthenticationFailed`, saying which command fixes it.
Each token obtained by logging in is stored, so the next command skips the login (argon2 makes a
login cost ~0.2 s on the server). If the server refuses a stored token (expired, key rotated) it
is dropped and the password path runs once more.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import time
from collections.abc import Callable

from imagerepo import credentials
from imagerepo.client.api import ImageRepoClient
from imagerepo.client.schemas import TokenResponse
from imagerepo.errors import AuthenticationFailed

URL_ENV = "IMAGEREPO_URL"
USER_ENV = "IMAGEREPO_USER"
PASSWORD_ENV = "IMAGEREPO_PASSWORD"  # noqa: S105 (a variable name, not a secret)
DEFAULT_USER = "root"
# The same as `imagerepo.config.DEFAULT_URL` (a test holds them equal), written out because
# importing the server's settings pulls in pydantic-settings: 0.1 s on every client command.
DEFAULT_URL = "http://127.0.0.1:8000"
EXPIRY_MARGIN_SECONDS = 30.0


def resolve_url(flag: str | None = None) -> str:
    """The server to talk to (see the module docstring for the order)."""
    return flag or os.environ.get(URL_ENV) or credentials.default_url() or DEFAULT_URL


def resolve_username(url: str, flag: str | None = None) -> str:
    """The user to act as at `url` (see the module docstring for the order)."""
    return flag or os.environ.get(USER_ENV) or credentials.default_user(url) or DEFAULT_USER


def missing_credentials(url: str, username: str) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"no credentials for {username} at {url}: run `imagerepo login --user {username}`"
        f" or set {PASSWORD_ENV}"
    )


def prompt_password(url: str, username: str) -> str | None:
    """Ask on the terminal, or None when stdin is not one (a script must not hang waiting)."""
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(f"Password for {username} at {url}: ")


def find_password(
    url: str,
    username: str,
    explicit: str | None = None,
    *,
    prompt: Callable[[str, str], str | None] = prompt_password,
) -> str | None:
    """A password for `username` at `url`: explicit → `$IMAGEREPO_PASSWORD` → stored → prompt."""
    password = explicit or os.environ.get(PASSWORD_ENV)
    if not password:
        stored = credentials.load_login(url, username)
        password = stored.password if stored is not None else None
    return password or prompt(url, username)


def _never(url: str, username: str) -> None:
    return None


class StoredCredentials:
    """The `TokenProvider` the CLI uses: resolves, logs in and remembers, as described above."""

    def __init__(
        self,
        url: str,
        username: str,
        *,
        password: str | None = None,
        remember: bool = True,
        prompt: Callable[[str, str], str | None] = prompt_password,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.username = username
        self._password = password
        self._remember = remember
        self._prompt = prompt
        self._clock = clock
        self._token: str | None = None
        self._skip_stored_token = False
        # Concurrent uploads share one provider: one login, not one per worker.
        self._lock = asyncio.Lock()

    async def token(self, client: ImageRepoClient) -> str:
        async with self._lock:
            if self._token is None:
                self._token = await self._obtain(client)
            return self._token

    async def rejected(self, token: str) -> bool:
        async with self._lock:
            if token != self._token:
                return True  # another request already replaced it
            self._token = None
            if self._skip_stored_token:
                return False  # a token fresh from a password login: asking again won't help
            self._skip_stored_token = True
            if self._remember:
                await asyncio.to_thread(credentials.drop_token, self.url, self.username)
            return True

    async def _obtain(self, client: ImageRepoClient) -> str:
        if not (self._password or os.environ.get(PASSWORD_ENV)) and not self._skip_stored_token:
            stored = await asyncio.to_thread(credentials.load_login, self.url, self.username)
            if stored is not None and stored.token:
                expires = stored.token_expires_at
                if expires is None or expires - EXPIRY_MARGIN_SECONDS > self._clock():
                    return stored.token
        password = find_password(self.url, self.username, self._password, prompt=_never)
        if not password:
            # Before asking for (or blaming the lack of) a password, make sure the server is
            # there: a mistyped --url should say "cannot reach", not "no credentials".
            await client.health()
            # Blocking on purpose: nothing can proceed without the password, and a prompt run in
            # a worker thread would outlive Ctrl-C.
            password = self._prompt(self.url, self.username)
        if not password:
            raise missing_credentials(self.url, self.username)
        answer = await client.login(self.username, password)
        self._skip_stored_token = True  # this token is fresh; a 401 on it is final
        if self._remember:
            await asyncio.to_thread(self.remember, answer)
        return answer.access_token

    def remember(self, answer: TokenResponse, *, make_default: bool = False) -> None:
        """Store a token the server just issued, with its absolute expiry time."""
        credentials.save_login(
            self.url,
            self.username,
            token=answer.access_token,
            token_expires_at=self._clock() + answer.expires_in,
            make_default=make_default,
        )
