"""What a metadata cache must offer. Values are domain objects; a networked cache brings a codec."""

from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    async def get(self, key: str) -> object | None: ...

    async def set(self, key: str, value: object) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def generation(self, namespace: str) -> int:
        """A counter that keys a family of entries; bumping it retires all of them at once."""
        ...

    async def bump(self, namespace: str) -> int: ...


class NoCache:
    """Used when `IMAGEREPO_CACHE_SIZE=0`: every lookup misses."""

    async def get(self, key: str) -> object | None:
        return None

    async def set(self, key: str, value: object) -> None:
        return None

    async def delete(self, key: str) -> None:
        return None

    async def generation(self, namespace: str) -> int:
        return 0

    async def bump(self, namespace: str) -> int:
        return 0
