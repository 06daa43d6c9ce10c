"""Short-lived signed access tokens (JWT, HS256)."""

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


class Tokens:
    def __init__(self, key: str, ttl_seconds: int) -> None:
        self._key = key
        self._ttl = ttl_seconds

    def issue(self, user_id: str, now: datetime) -> IssuedToken:
        claims = {
            "sub": user_id,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + timedelta(seconds=self._ttl),
        }
        return IssuedToken(jwt.encode(claims, self._key, algorithm=ALGORITHM), self._ttl)

    def subject(self, token: str) -> str:
        """The user id a valid, unexpired token names; `AuthenticationFailed` otherwise."""
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
        return str(claims["sub"])
