"""What a job queue is to the rest of imagerepo.

A job is "process this image" and nothing more: its argument is an image id, and the work is
idempotent (`services.processing.ImageProcessing.process`: a derivative that exists is not
made again), so a job run twice, or by two workers at once, does no harm. That is what makes
"at least once" enough: a queue retries a failed job with backoff, hands out again the job of
a worker that died, and whatever a queue still loses (the in-process queue at a restart) the
recovery sweep finds again from `images.state`, the source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class JobHandler(Protocol):
    """What a worker calls: the services' side of a job."""

    async def process(self, image_id: str) -> None:
        """Do the job (idempotent); raising means "try again later"."""
        ...

    async def give_up(self, image_id: str, reason: str) -> None:
        """Every attempt failed: record it (`failed`)."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`max_attempts` runs in all; after the n-th failure the next run waits
    `backoff_seconds ** n` seconds (2 → 2, 4, 8, 16 s; 0 → at once)."""

    max_attempts: int = 5
    backoff_seconds: int = 2

    def delay(self, failures: int) -> float:
        return float(self.backoff_seconds**failures)


class JobQueue(Protocol):
    #: Whether enqueued jobs outlive this process. The in-process queue's do not: at start,
    #: every image still `processing` is enqueued again; a durable queue keeps its own.
    durable: bool

    async def enqueue(self, image_id: str) -> None:
        """Hand out a job for `image_id` (no second one if one is already waiting).
        `ServiceUnavailable` if the queue cannot be reached."""
        ...

    async def pending(self) -> int:
        """Jobs waiting to run (the queue's own count, for the queue-depth gauge)."""
        ...

    async def recover_stalled(self) -> int:
        """Hand out again the jobs of workers that stopped without finishing them; how many."""
        ...

    async def work(self, handler: JobHandler, *, concurrency: int) -> None:
        """Run jobs, `concurrency` at a time, until cancelled."""
        ...

    async def ping(self) -> None:
        """Raise if the queue cannot take jobs (for /readyz and `check-config`)."""
        ...

    async def aclose(self) -> None: ...
