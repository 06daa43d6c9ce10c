"""The pixel budget: an asyncio semaphore counted in bytes, and the pool that reserves from it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from imagerepo.errors import InvalidImage, ServiceUnavailable
from imagerepo.services.pixel_budget import Cost, PixelBudget
from imagerepo.workers import CostlyJob, WorkerPool

MIB = 1 << 20


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_job_that_fits_starts_at_once_and_gives_its_bytes_back() -> None:
    budget = PixelBudget(100 * MIB)
    await budget.acquire(60 * MIB)
    assert budget.in_use == 60 * MIB
    budget.release(60 * MIB)
    assert budget.in_use == 0


async def test_a_job_waits_until_enough_bytes_come_back() -> None:
    budget = PixelBudget(100 * MIB)
    await budget.acquire(70 * MIB)
    waiting = asyncio.create_task(budget.acquire(50 * MIB))
    await settle()
    assert not waiting.done() and budget.waiting == 1
    budget.release(70 * MIB)
    await asyncio.wait_for(waiting, 1)
    assert budget.in_use == 50 * MIB


async def test_a_large_waiter_is_not_overtaken_by_small_ones() -> None:
    budget = PixelBudget(100 * MIB)
    await budget.acquire(60 * MIB)
    large = asyncio.create_task(budget.acquire(80 * MIB))
    await settle()
    small = asyncio.create_task(budget.acquire(30 * MIB))  # fits in the 40 free, but...
    await settle()
    assert not small.done(), "the 40 MiB free are held for the 80 MiB job that came first"
    budget.release(60 * MIB)
    await asyncio.wait_for(large, 1)
    await settle()
    assert not small.done()  # 20 free after the large one: still not enough
    budget.release(80 * MIB)
    await asyncio.wait_for(small, 1)


async def test_small_jobs_use_what_is_left_beyond_earlier_waiters() -> None:
    budget = PixelBudget(100 * MIB)
    await budget.acquire(50 * MIB)
    large = asyncio.create_task(budget.acquire(60 * MIB))  # 50 free: waits
    await settle()
    budget.release(30 * MIB)  # 80 free: the large one goes, 20 left
    await asyncio.wait_for(large, 1)
    await asyncio.wait_for(budget.acquire(20 * MIB), 1)
    assert budget.in_use == 100 * MIB


async def test_waiting_too_long_is_503_with_retry_after() -> None:
    budget = PixelBudget(100 * MIB, max_wait_seconds=0.05)
    await budget.acquire(90 * MIB)
    with pytest.raises(ServiceUnavailable) as caught:
        await budget.acquire(20 * MIB)
    assert caught.value.status == 503 and caught.value.retry_after is not None
    assert caught.value.retry_after >= 1
    assert budget.waiting == 0 and budget.in_use == 90 * MIB


async def test_more_than_the_whole_budget_is_422_at_once() -> None:
    budget = PixelBudget(100 * MIB)
    with pytest.raises(InvalidImage, match="more than this server allows"):
        await budget.acquire(101 * MIB)
    assert budget.in_use == 0


async def test_a_cancelled_waiter_leaves_nothing_behind() -> None:
    budget = PixelBudget(100 * MIB)
    await budget.acquire(90 * MIB)
    waiting = asyncio.create_task(budget.acquire(50 * MIB))
    behind = asyncio.create_task(budget.acquire(10 * MIB))
    await settle()
    waiting.cancel()
    await asyncio.wait_for(behind, 1)  # the cancelled one held nothing back any more
    assert budget.waiting == 0 and budget.in_use == 100 * MIB


class Gate:
    """A job that blocks its worker thread until the test opens the gate."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.open = threading.Event()

    def __call__(self, value: int) -> int:
        self.started.set()
        assert self.open.wait(5)
        return value


async def test_the_pool_reserves_the_estimate_before_the_job_runs_and_after_it_ends() -> None:
    budget = PixelBudget(100 * MIB)
    pool = WorkerPool(2, budget=budget)
    gate = Gate()
    job = CostlyJob(estimate=lambda value: Cost(60 * MIB), work=gate)
    try:
        first = asyncio.create_task(pool.run(job, 1))
        await asyncio.to_thread(gate.started.wait, 5)
        assert budget.in_use == 60 * MIB
        second = asyncio.create_task(pool.run(job, 2))
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert budget.waiting == 1, "the second job waits on the loop, not in a thread"
        gate.open.set()
        assert await asyncio.wait_for(first, 5) == 1
        assert await asyncio.wait_for(second, 5) == 2
        await settle()
        assert budget.in_use == 0
    finally:
        gate.open.set()
        pool.shutdown()


async def test_bytes_stay_reserved_while_a_cancelled_requests_thread_still_decodes() -> None:
    budget = PixelBudget(100 * MIB)
    pool = WorkerPool(1, budget=budget)
    gate = Gate()
    job = CostlyJob(estimate=lambda value: Cost(60 * MIB), work=gate)
    try:
        request = asyncio.create_task(pool.run(job, 1))
        await asyncio.to_thread(gate.started.wait, 5)
        request.cancel()  # the client went away; the thread still holds the pixels
        await settle()
        assert budget.in_use == 60 * MIB
        gate.open.set()
        for _ in range(100):
            if budget.in_use == 0:
                break
            await asyncio.sleep(0.01)
        assert budget.in_use == 0
    finally:
        gate.open.set()
        pool.shutdown()


async def test_an_input_whose_later_renders_could_never_fit_is_refused_before_decoding() -> None:
    ran = []
    job = CostlyJob(estimate=lambda: Cost(10 * MIB, later=200 * MIB), work=lambda: ran.append(True))
    pool = WorkerPool(1, budget=PixelBudget(100 * MIB))
    try:
        with pytest.raises(InvalidImage):
            await pool.run(job)
    finally:
        pool.shutdown()
    assert ran == []
