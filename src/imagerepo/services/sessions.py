"""Browser sessions: the gallery's cookie login.

- Signing in checks the password exactly as the API's login does (`UserService.verify_login`),
  then makes a random secret (32 bytes) for the cookie and a random CSRF token. The store keeps
  only the secret's sha256, so a copy of the database cannot be replayed as cookies.
- Every state-changing request that a session cookie authenticates must echo the session's CSRF
  token (header `X-CSRF-Token`), compared in constant time (`check_csrf`). A cross-site page can
  make the browser send the cookie, but it cannot read the token.
- A session ends at `expires_at` (`IMAGEREPO_SESSION_TTL_SECONDS` after sign-in), at sign-out
  (the row is deleted, so it ends on every server process at once), when the user's password
  changes (the user store deletes their sessions together with the token-version bump) and when
  the user is deleted (the rows go with the user).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from imagerepo.errors import AuthenticationFailed, PermissionDenied
from imagerepo.models import User
from imagerepo.services.clock import Clock

MAX_SECRET_LENGTH = 128  # what we issue is 43 characters; anything longer is not ours
SESSION_ENDED = "your session has ended; sign in again"


class SessionStore(Protocol):
    async def add(self, key: str, user: str, csrf: str, start: datetime, end: datetime) -> None:
        """Keep a session under `key`, the sha256 of its secret, for user id `user`."""
        ...

    async def find(self, id_hash: str) -> tuple[User, str, datetime] | None:
        """The session's user, CSRF token and expiry."""
        ...

    async def delete(self, id_hash: str) -> None: ...
    async def delete_expired(self, now: datetime) -> int: ...


class PasswordCheck(Protocol):
    async def verify_login(
        self, username: str, password: str, *, client: str | None = None
    ) -> User: ...


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """A signed-in browser: whose it is, the CSRF token every state-changing request it makes
    must echo, and when it ends."""

    user: User
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StartedSession:
    """A new session: `secret` goes into the cookie and nowhere else."""

    secret: str
    session: BrowserSession


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SessionService:
    def __init__(
        self, store: SessionStore, users: PasswordCheck, clock: Clock, *, ttl_seconds: int
    ) -> None:
        self._store = store
        self._users = users
        self._clock = clock
        self.ttl_seconds = ttl_seconds

    async def sign_in(
        self, username: str, password: str, *, client: str | None = None
    ) -> StartedSession:
        """A new session for the user these credentials prove; `InvalidCredentials` otherwise
        (`TooManyRequests` after too many failures from `client`)."""
        user = await self._users.verify_login(username, password, client=client)
        now = self._clock()
        await self._store.delete_expired(now)  # indexed; keeps the table to live sessions
        secret = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(seconds=self.ttl_seconds)
        await self._store.add(secret_hash(secret), user.id, csrf_token, now, expires_at)
        return StartedSession(secret, BrowserSession(user, csrf_token, expires_at))

    async def resolve(self, secret: str) -> BrowserSession:
        """The live session a cookie names; `AuthenticationFailed` if it never existed or ended."""
        if not secret or len(secret) > MAX_SECRET_LENGTH:
            raise AuthenticationFailed(SESSION_ENDED)
        found = await self._store.find(secret_hash(secret))
        if found is None:
            raise AuthenticationFailed(SESSION_ENDED)
        session = BrowserSession(*found)
        if session.expires_at <= self._clock():
            await self._store.delete(secret_hash(secret))
            raise AuthenticationFailed(SESSION_ENDED)
        return session

    async def sign_out(self, secret: str) -> None:
        """End the session the cookie names (nothing happens if it is already gone)."""
        if secret and len(secret) <= MAX_SECRET_LENGTH:
            await self._store.delete(secret_hash(secret))


def check_csrf(session: BrowserSession, token: str | None) -> None:
    """A state-changing request authenticated by a session cookie must echo its CSRF token."""
    if not token or not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        raise PermissionDenied(
            "this request needs the page's CSRF token (header X-CSRF-Token); reload the page"
        )
