"""The scaled profile's jobs: procrastinate on real PostgreSQL, run by `imagerepo worker`
processes. The API side here is the app in-process (it only enqueues); the workers are real
subprocesses sharing its database and data folder. A worker killed with SIGKILL in the middle
of a job loses nothing: the next worker finds the stalled job (no heartbeat) and finishes it."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from PIL import Image

from imagerepo.config import Settings
from imagerepo.jobs.postgres_queue import conninfo
from imagerepo.wiring import build_services
from tests.api.helpers import upload
from tests.api.test_jobs import client_on, derivatives_stored, login, wait_for_state
from tests.conftest import FAST_ARGON2, ROOT_PASSWORD
from tests.databases import Databases
from tests.e2e.conftest import REPO
from tests.images import make_image
from tests.services import free_port

pytestmark = pytest.mark.e2e
SECRET = "s" * 48


@pytest.fixture
def queue_settings(tmp_path: Path, postgres_databases: Databases) -> Iterator[Settings]:
    """A fresh migrated database whose procrastinate tables `imagerepo migrate` made."""
    name = postgres_databases.create()
    url = postgres_databases.url_of(name)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        queue_url=url,
        root_password=ROOT_PASSWORD,  # type: ignore[arg-type]
        secret_key=SECRET,  # type: ignore[arg-type]
        job_heartbeat_seconds=1,
        job_sweep_seconds=1,
        job_retry_base_seconds=0,
        # The workers are other processes: without Redis (IMAGEREPO_CACHE_URL) their writes
        # cannot retire this process's cached entries, so this app caches nothing.
        cache_size=0,
        **FAST_ARGON2,  # type: ignore[arg-type]
    )
    migrated = run_cli(settings, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "job queue: created procrastinate's tables" in migrated.stdout
    checked = run_cli(settings, "check-config")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "queue: ok (postgresql+asyncpg://" in checked.stdout
    try:
        yield settings
    finally:
        postgres_databases.drop(name)


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEREPO_")}
    env.update(
        IMAGEREPO_DATA_DIR=str(settings.data_dir),
        IMAGEREPO_DATABASE_URL=str(settings.database_url),
        IMAGEREPO_QUEUE_URL=str(settings.queue_url),
        IMAGEREPO_SECRET_KEY=SECRET,
        IMAGEREPO_JOB_HEARTBEAT_SECONDS="1",
        IMAGEREPO_JOB_SWEEP_SECONDS="1",
        IMAGEREPO_JOB_RETRY_BASE_SECONDS="0",
        IMAGEREPO_LOG_LEVEL="warning",
    )
    return env


def run_cli(settings: Settings, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imagerepo", *argv],
        cwd=REPO,
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start_worker(settings: Settings, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "imagerepo", "worker", "--concurrency", "1", *extra],
            cwd=REPO,
            env=cli_env(settings),
            stdout=out,
            stderr=out,
        )


@pytest.fixture
async def api(queue_settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    async with (
        build_services(queue_settings) as services,  # with a queue URL: enqueue only
        client_on(services, queue_settings) as http,
    ):
        yield http, await login(http)


async def job_states(settings: Settings) -> list[str]:
    connection = await asyncpg.connect(conninfo(str(settings.queue_url)))
    try:
        rows = await connection.fetch("SELECT status::text FROM procrastinate_jobs ORDER BY id")
        return [row[0] for row in rows]
    finally:
        await connection.close()


def noisy_png(seed: int) -> bytes:
    """A big picture that takes a worker seconds to render (noise does not compress)."""
    picture = Image.effect_noise((2600, 2000), 60 + seed).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


def stop(worker: subprocess.Popen[bytes]) -> int:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            return worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    return worker.wait()


def test_worker_without_a_queue_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEREPO_")}
    env["IMAGEREPO_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "imagerepo", "worker"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "IMAGEREPO_QUEUE_URL" in done.stderr


async def test_a_worker_process_makes_uploads_ready(
    api: tuple[httpx.AsyncClient, dict[str, str]], queue_settings: Settings, tmp_path: Path
) -> None:
    http, root = api
    created = [await upload(http, root, make_image(seed=n)) for n in range(3)]
    assert {c["state"] for c in created} == {"processing"}
    assert await job_states(queue_settings) == ["todo"] * 3  # the server only enqueued
    port = free_port()
    worker = start_worker(queue_settings, tmp_path / "worker.log", "--metrics-port", str(port))
    try:
        for image in created:
            ready = await wait_for_state(http, root, image["id"], "ready")
            assert await derivatives_stored(queue_settings, ready) == [True, True, True]
        async with httpx.AsyncClient() as scraper:
            metrics = await scraper.get(f"http://127.0.0.1:{port}/metrics")
        assert "imagerepo_job_failures_total 0.0" in metrics.text
    finally:
        assert stop(worker) == 0, (tmp_path / "worker.log").read_text()


async def test_a_worker_killed_mid_job_loses_no_derivative(
    api: tuple[httpx.AsyncClient, dict[str, str]], queue_settings: Settings, tmp_path: Path
) -> None:
    http, root = api
    created = [await upload(http, root, noisy_png(n), name="noise.png") for n in range(3)]
    log = tmp_path / "worker.log"
    first = start_worker(queue_settings, log)
    try:
        deadline = time.monotonic() + 60
        while "doing" not in await job_states(queue_settings):
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker never started a job"
            await asyncio.sleep(0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert "doing" in await job_states(queue_settings)  # it died holding a job
    second = start_worker(queue_settings, log)
    try:
        for image in created:
            ready = await wait_for_state(http, root, image["id"], "ready")
            assert await derivatives_stored(queue_settings, ready) == [True, True, True]
    finally:
        assert stop(second) == 0, log.read_text()
