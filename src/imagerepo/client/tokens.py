"""Where `ImageRepoClient` gets bearer tokens: the protocol, and a fixed token.

The CLI's provider, which resolves a user, logs in and remembers, is `client.auth`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from imagerepo.client.api import ImageRepoClient


class TokenProvider(Protocol):
    """Supplies bearer tokens to `ImageRepoClient`."""

    async def token(self, client: ImageRepoClient) -> str:
        """A token to send now (may log in through `client.login` to get one)."""
        ...

    async def rejected(self, token: str) -> bool:
        """The server answered 401 to `token`: forget it; True if asking again may help."""
        ...


class StaticToken:
    """A fixed token (tests, scripts that already hold one); a refusal is final."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, client: ImageRepoClient) -> str:
        return self._token

    async def rejected(self, token: str) -> bool:
        return False
