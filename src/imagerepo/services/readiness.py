"""Readiness: can this process serve now? Every backend it needs answers, within a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

Check = Callable[[], Awaitable[None]]


class Readiness:
    """Named checks (database, storage, cache ...), each raising if its backend is unusable."""

    def __init__(self, checks: Mapping[str, Check], *, timeout: float = 3.0) -> None:
        self.checks = dict(checks)
        self._timeout = timeout

    async def problems(self) -> dict[str, str]:
        """What is wrong, by check name; empty when ready. Checks run concurrently."""
        names = list(self.checks)
        results = await asyncio.gather(
            *(self._run(self.checks[name]) for name in names), return_exceptions=False
        )
        return {name: problem for name, problem in zip(names, results, strict=True) if problem}

    async def _run(self, check: Check) -> str | None:
        try:
            async with asyncio.timeout(self._timeout):
                await check()
        except TimeoutError:
            return f"no answer within {self._timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - any failure is the answer, as text
            lines = str(exc).strip().splitlines()
            return lines[0] if lines else type(exc).__name__  # one line: logs, JSON, terminals
        return None
