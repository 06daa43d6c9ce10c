"""Users: accounts (admins manage them), passwords, login, and the first-start root account.

Admins manage users and settings and have no extra rights over anybody's images. The rules here:

- a username is lowercase letters and digits, with '.', '_' or '-' only between two of them; a
  name whose skeleton (separators removed) is another user's is refused, so `r.oot` cannot
  pose as `root` (the database keeps skeletons unique, for concurrent creations too);
- root cannot be deleted, an admin cannot delete themselves, the last admin cannot be deleted,
  and a user who owns images is deleted only when the caller says to delete the images too;
- changing a password revokes every token issued before: tokens carry the user's token version,
  which the change bumps (see `imagerepo.services.tokens`), and ends their browser sessions (the
  store deletes them with the bump); deleting a user revokes theirs too.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from imagerepo.cache.base import Cache
from imagerepo.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidCredentials,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    ValidationFailed,
)
from imagerepo.models import User, UserCredentials
from imagerepo.services.clock import Clock
from imagerepo.services.ids import new_id
from imagerepo.services.passwords import Passwords
from imagerepo.services.throttle import LoginThrottle
from imagerepo.services.tokens import IssuedToken, Tokens

ROOT = "root"
SELF = "me"  # `/users/me/...`: never a username
USER_GENERATION = "users"
MAX_USERNAME = 64
USERNAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
USERNAME_RULE = (
    "a username is 1-64 lowercase letters and digits; '.', '_' and '-' may stand between two"
    " of them (not first, last or twice in a row)"
)
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_SEPARATORS = str.maketrans("", "", "._-")


def skeleton(username: str) -> str:
    """What a name looks like with case and separators ignored: `R.oot`, `ro_ot` → `root`."""
    return username.lower().translate(_SEPARATORS)


class UserStore(Protocol):
    async def add(self, user: User, password_hash: str, *, skeleton: str) -> User: ...
    async def by_id(self, user_id: str) -> User | None: ...
    async def by_id_with_token_version(self, user_id: str) -> tuple[User, int] | None: ...
    async def by_username(self, username: str) -> User | None: ...
    async def by_skeleton(self, skeleton: str) -> User | None: ...
    async def credentials(self, username: str) -> UserCredentials | None: ...
    async def set_password_hash(
        self, user_id: str, password_hash: str, *, revoke_tokens: bool = False
    ) -> bool: ...
    async def revoke_tokens(self, user_id: str) -> None: ...
    async def with_image_counts(self) -> list[tuple[User, int]]: ...
    async def delete(self, user_id: str) -> bool:
        """Refused (False) while the user owns an image or is the last admin."""
        ...


class OwnedImages(Protocol):
    """What deleting a user needs from the images (the image service, wired in)."""

    async def count_owned_by(self, owner_id: str) -> int: ...

    async def delete_all_owned_by(self, owner_id: str) -> int:
        """Delete every image of the owner, rows included; returns how many."""
        ...


@dataclass(frozen=True, slots=True)
class RootBootstrap:
    """What the first start did: `password` is set only when it was generated here."""

    created: bool
    generated_password: str | None


@dataclass(frozen=True, slots=True)
class UserSummary:
    user: User
    image_count: int


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """What `authenticate` caches: the user and the token version their tokens must carry."""

    user: User
    token_version: int


class UserService:
    def __init__(
        self,
        store: UserStore,
        passwords: Passwords,
        tokens: Tokens,
        clock: Clock,
        cache: Cache,
        *,
        owned_images: OwnedImages | None = None,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self._store = store
        self._cache = cache
        self._passwords = passwords
        self._tokens = tokens
        self._clock = clock
        self._owned_images = owned_images
        self._throttle = throttle

    # -- accounts -------------------------------------------------------------------------------

    async def create(
        self, actor: User | None, username: str, password: str, *, is_admin: bool = False
    ) -> User:
        """Make a user. `actor=None` is the server itself (first start); otherwise an admin."""
        if actor is not None and not actor.is_admin:
            raise PermissionDenied("only an admin can create users")
        username = username.strip().lower()
        if len(username) > MAX_USERNAME or not USERNAME.fullmatch(username):
            raise ValidationFailed(USERNAME_RULE)
        if username == SELF:
            raise ValidationFailed(f"{SELF!r} is reserved: it means 'yourself' in the API")
        _check_password(password)
        twin = await self._store.by_skeleton(skeleton(username))
        if twin is not None:
            raise Conflict(
                f"user {username!r} already exists"
                if twin.username == username
                else f"{username!r} looks too much like the existing user {twin.username!r}"
            )
        user = User(id=new_id(), username=username, is_admin=is_admin, created_at=self._clock())
        created = await self._store.add(
            user, await self._passwords.hash(password), skeleton=skeleton(username)
        )
        await self._cache.bump(USER_GENERATION)
        return created

    async def ensure_root(self, password: str | None) -> RootBootstrap:
        if await self._store.by_username(ROOT) is not None:
            return RootBootstrap(created=False, generated_password=None)
        generated = None if password else secrets.token_urlsafe(18)
        await self.create(None, ROOT, password or generated or "", is_admin=True)
        return RootBootstrap(created=True, generated_password=generated)

    async def list_users(self, actor: User) -> list[UserSummary]:
        """Every user, by name, with how many images each owns (admins only)."""
        if not actor.is_admin:
            raise PermissionDenied("only an admin can list users")
        return [UserSummary(u, n) for u, n in await self._store.with_image_counts()]

    async def delete(self, actor: User, username: str, *, delete_images: bool = False) -> int:
        """Delete a user (admins only); returns how many of their images went with them.

        A user who owns images is refused (`Conflict`, saying how many) unless `delete_images`:
        then their tokens are revoked first, so nothing new arrives while the images go.
        """
        if not actor.is_admin:
            raise PermissionDenied("only an admin can delete users")
        target = await self._named(username)
        if target.username == ROOT:
            raise PermissionDenied("root cannot be deleted")
        if target.id == actor.id:
            raise PermissionDenied("you cannot delete yourself: another admin can")
        images = self._images()
        owned = await images.count_owned_by(target.id)
        if owned and not delete_images:
            raise Conflict(_owns_images(target.username, owned))
        deleted = 0
        if delete_images:
            await self._store.revoke_tokens(target.id)
            await self._cache.bump(USER_GENERATION)
            deleted = await images.delete_all_owned_by(target.id)
        if not await self._store.delete(target.id):
            # Refused in the database: an upload arrived meanwhile, or it is the last admin.
            if await self._store.by_id(target.id) is None:
                raise NotFound(f"no user {target.username!r}")
            left = await images.count_owned_by(target.id)
            raise Conflict(
                _owns_images(target.username, left)
                if left
                else f"{target.username} is the last admin and cannot be deleted"
            )
        await self._cache.bump(USER_GENERATION)
        return deleted

    # -- passwords ------------------------------------------------------------------------------

    async def change_password(
        self,
        actor: User,
        username: str,
        new_password: str,
        *,
        current_password: str | None = None,
    ) -> None:
        """Set a password and revoke the user's tokens. Your own (`username` yours or "me")
        needs `current_password`; an admin sets anyone else's without it, except root's, which
        only root (or `reset_password`, on the server's machine) may change."""
        name = username.strip().lower()
        if name in (SELF, actor.username):
            if not current_password:
                raise ValidationFailed("changing your own password needs your current password")
            found = await self._store.credentials(actor.username)
            if found is None or not await self._passwords.verify(
                found.password_hash, current_password
            ):
                raise PermissionDenied("your current password is wrong")
            target = actor
        elif not actor.is_admin:
            raise PermissionDenied("only an admin can change another user's password")
        else:
            target = await self._named(name)
            if target.username == ROOT:
                raise PermissionDenied(
                    "only root can change root's password"
                    " (or `imagerepo admin reset-password root` on the server's machine)"
                )
        await self._set_password(target, new_password)

    async def reset_password(self, username: str, new_password: str) -> None:
        """Set a user's password and revoke their tokens, with no login: for a local operator
        working on the server's own data (`imagerepo admin reset-password`)."""
        await self._set_password(await self._named(username), new_password)

    async def _set_password(self, target: User, password: str) -> None:
        _check_password(password)
        password_hash = await self._passwords.hash(password)
        if not await self._store.set_password_hash(target.id, password_hash, revoke_tokens=True):
            raise NotFound(f"no user {target.username!r}")
        await self._cache.bump(USER_GENERATION)

    # -- login and tokens -----------------------------------------------------------------------

    async def verify_login(
        self, username: str, password: str, *, client: str | None = None
    ) -> User:
        """The user a username and password prove (an unknown name costs the same as a wrong
        password); `InvalidCredentials` otherwise, or `TooManyRequests` once `client` (the
        caller's address) has failed too often. The API's login and the gallery's share it."""
        username = username.strip().lower()
        if self._throttle is not None:
            await self._throttle.check(username, client)
        found = await self._store.credentials(username)
        valid = await self._passwords.verify(found.password_hash if found else None, password)
        if found is None or not valid:
            if self._throttle is not None:
                await self._throttle.failed(username, client)
            raise InvalidCredentials("wrong username or password")
        if self._throttle is not None:
            await self._throttle.succeeded(username, client)
        if self._passwords.needs_rehash(found.password_hash):
            await self._store.set_password_hash(found.user.id, await self._passwords.hash(password))
        return found.user

    async def login(
        self, username: str, password: str, *, client: str | None = None
    ) -> IssuedToken:
        user = await self.verify_login(username, password, client=client)
        holder = await self._store.by_id_with_token_version(user.id)
        if holder is None:  # deleted a moment ago
            raise InvalidCredentials("wrong username or password")
        return self._tokens.issue(user.id, self._clock(), holder[1])

    def token_subject(self, token: str) -> str:
        """The user id a token names if its signature and expiry verify (no database: cheap
        enough to run before a request body is read); `AuthenticationFailed` otherwise."""
        return self._tokens.subject(token)

    async def authenticate(self, token: str) -> User:
        """The user a token names, if the token is still theirs. Users are cached (every request
        asks); a user write bumps the generation, so a changed password or a removed user is
        never served from the cache."""
        claims = self._tokens.claims(token)
        key = f"user:{await self._cache.generation(USER_GENERATION)}:{claims.subject}"
        cached = await self._cache.get(key)
        if isinstance(cached, TokenHolder):
            holder = cached
        else:
            found = await self._store.by_id_with_token_version(claims.subject)
            if found is None:
                raise AuthenticationFailed("the access token names a user that no longer exists")
            holder = TokenHolder(*found)
            await self._cache.set(key, holder)
        if claims.version != holder.token_version:
            raise AuthenticationFailed(
                "the access token was revoked (password changed); log in again"
            )
        return holder.user

    # -- helpers --------------------------------------------------------------------------------

    async def _named(self, username: str) -> User:
        name = username.strip().lower()
        found = await self._store.by_username(name)
        if found is None:
            raise NotFound(f"no user {name!r}")
        return found

    def _images(self) -> OwnedImages:
        if self._owned_images is None:
            raise ServiceUnavailable("deleting users needs the image service, which is not wired")
        return self._owned_images


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationFailed(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def _owns_images(username: str, count: int) -> str:
    images = "1 image" if count == 1 else f"{count} images"
    return (
        f"{username} owns {images}: delete them with the user by passing delete_images=true"
        f" (`imagerepo user delete {username} --delete-images`)"
    )
