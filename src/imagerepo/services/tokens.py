"""Short-lived signed access tokens (JWT, HS256).

Claims: `sub` (user id), `aud`, `iat`, `exp`, and `ver`, the user's token version when the token
was issued. Changing a password bumps the version, which revokes every token issued before it
(`UserService.authenticate` compares the two); a token without `ver` is version 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from imagerepo.errors import AuthenticationFailed

ALGORITHM = "HS256"
AUDIENCE = "imagerepo"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str  # the user id
    version: int  # the user's token version when it was issued


class Tokens:
    def __init__(self, key: str, ttl_seconds: int) -> None:
        self._key = key
        self._ttl = ttl_seconds

    def issue(self, user_id: str, now: datetime, version: int = 0) -> IssuedToken:
        claims = {
            "sub": user_id,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + timedelta(seconds=self._ttl),
            "ver": version,
        }
        return IssuedToken(jwt.encode(claims, self._key, algorithm=ALGORITHM), self._ttl)

    def subject(self, token: str) -> str:
        """The user id a valid, unexpired token names; `AuthenticationFailed` otherwise."""
        return self.claims(token).subject

    def claims(self, token: str) -> TokenClaims:
        """What a valid, unexpired token says; `AuthenticationFailed` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["sub", "exp", "iat", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationFailed("the access token has expired; log in again") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed("the access token is not valid") from exc
        version = claims.get("ver", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise AuthenticationFailed("the access token is not valid")
        return TokenClaims(subject=str(claims["sub"]), version=version)
