"""Users: creation (admins only), login, and the first-start root account."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from imagerepo.cache.base import Cache
from imagerepo.errors import (
    AuthenticationFailed,
    InvalidCredentials,
    PermissionDenied,
    ValidationFailed,
)
from imagerepo.models import User, UserCredentials
from imagerepo.services.clock import Clock
from imagerepo.services.ids import new_id
from imagerepo.services.passwords import Passwords
from imagerepo.services.tokens import IssuedToken, Tokens

ROOT = "root"
USER_GENERATION = "users"
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


class UserStore(Protocol):
    async def add(self, user: User, password_hash: str) -> User: ...
    async def by_id(self, user_id: str) -> User | None: ...
    async def by_username(self, username: str) -> User | None: ...
    async def credentials(self, username: str) -> UserCredentials | None: ...
    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...


@dataclass(frozen=True, slots=True)
class RootBootstrap:
    """What the first start did: `password` is set only when it was generated here."""

    created: bool
    generated_password: str | None


class UserService:
    def __init__(
        self, store: UserStore, passwords: Passwords, tokens: Tokens, clock: Clock, cache: Cache
    ) -> None:
        self._store = store
        self._cache = cache
        self._passwords = passwords
        self._tokens = tokens
        self._clock = clock

    async def create(
        self, actor: User | None, username: str, password: str, *, is_admin: bool = False
    ) -> User:
        """Make a user. `actor=None` is the server itself (first start); otherwise an admin."""
        if actor is not None and not actor.is_admin:
            raise PermissionDenied("only an admin can create users")
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise ValidationFailed(
                "a username is 1-64 characters: lowercase letters, digits, '.', '_' or '-'"
            )
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise ValidationFailed(f"a password needs at least {MIN_PASSWORD} characters")
        user = User(id=new_id(), username=username, is_admin=is_admin, created_at=self._clock())
        created = await self._store.add(user, await self._passwords.hash(password))
        await self._cache.bump(USER_GENERATION)
        return created

    async def ensure_root(self, password: str | None) -> RootBootstrap:
        if await self._store.by_username(ROOT) is not None:
            return RootBootstrap(created=False, generated_password=None)
        generated = None if password else secrets.token_urlsafe(18)
        await self.create(None, ROOT, password or generated or "", is_admin=True)
        return RootBootstrap(created=True, generated_password=generated)

    async def login(self, username: str, password: str) -> IssuedToken:
        found = await self._store.credentials(username.strip().lower())
        valid = await self._passwords.verify(found.password_hash if found else None, password)
        if found is None or not valid:
            raise InvalidCredentials("wrong username or password")
        if self._passwords.needs_rehash(found.password_hash):
            await self._store.set_password_hash(found.user.id, await self._passwords.hash(password))
        return self._tokens.issue(found.user.id, self._clock())

    async def authenticate(self, token: str) -> User:
        """The user a token names. Users are cached (every request asks); a user write bumps
        the generation, so a changed or removed user is never served from the cache."""
        user_id = self._tokens.subject(token)
        key = f"user:{await self._cache.generation(USER_GENERATION)}:{user_id}"
        cached = await self._cache.get(key)
        if isinstance(cached, User):
            return cached
        user = await self._store.by_id(user_id)
        if user is None:
            raise AuthenticationFailed("the access token names a user that no longer exists")
        await self._cache.set(key, user)
        return user
