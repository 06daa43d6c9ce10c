"""argon2id password hashing, run in the worker pool (each hash costs tens of milliseconds)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from imagerepo.workers import WorkerPool


class Passwords:
    def __init__(self, pool: WorkerPool, *, time_cost: int, memory_kib: int) -> None:
        self._pool = pool
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=1, type=Type.ID
        )
        # Verifying against this keeps a wrong-username login as slow as a wrong-password one.
        self._decoy = self._hasher.hash("decoy password that matches nothing")

    async def hash(self, password: str) -> str:
        return await self._pool.run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await self._pool.run(self._verify, password_hash or self._decoy, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
