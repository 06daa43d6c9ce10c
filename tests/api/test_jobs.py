"""Derivative work in jobs, embedded profile (in-process queue): an upload is `processing`
until its job has made the preview and full-size copy, then `ready`; a job that keeps failing
leaves it `failed`; a job lost with its process is found again at the next start."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from imagerepo.backends import build_blob_stores
from imagerepo.config import Settings
from imagerepo.models import Image
from imagerepo.services.derivatives import derivative_key
from imagerepo.services.processing import wanted
from imagerepo.wiring import Services, build_services
from tests.api.helpers import client_of, upload
from tests.conftest import ROOT_PASSWORD

DEADLINE_SECONDS = 60.0
TOKEN = "m" * 32


async def wait_for_state(
    http: httpx.AsyncClient, headers: dict[str, str], image_id: str, state: str
) -> dict[str, Any]:
    """Poll the image until it reaches `state` (bounded by a deadline, not a fixed sleep)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        body: dict[str, Any] = (
            await http.get(f"/api/v1/images/{image_id}", headers=headers)
        ).json()
        if body["state"] == state:
            return body
        assert time.monotonic() < deadline, f"still {body['state']} after {DEADLINE_SECONDS} s"
        await asyncio.sleep(0.02)


async def derivatives_stored(settings: Settings, body: dict[str, Any]) -> list[bool]:
    """Which of the job's derivatives are in the library's derivative store (the data folder,
    or the bucket on the scaled profile)."""
    image = Image(
        id=body["id"],
        owner_id="",
        owner=body["owner"],
        title="",
        filename="",
        description="",
        visibility=body["visibility"],
        sha256=body["sha256"],
        size=0,
        media_type=body["media_type"],
        width=0,
        height=0,
        created_at=body["created_at"],
    )
    _, store = build_blob_stores(settings)
    return [await store.exists(derivative_key(image.sha256, k, f)) for k, f in wanted(image)]


@asynccontextmanager
async def client_on(services: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(services) as client:
        yield client


async def login(http: httpx.AsyncClient) -> dict[str, str]:
    answer = await http.post(
        "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def test_an_upload_is_processing_then_ready_with_its_derivatives(
    http: httpx.AsyncClient, alice: dict[str, str], settings: Settings
) -> None:
    created = await upload(http, alice)
    assert created["state"] == "processing"  # acknowledged: bytes, row and thumbnail are kept
    ready = await wait_for_state(http, alice, created["id"], "ready")
    assert await derivatives_stored(settings, ready) == [True, True, True]
    listing = (await http.get("/api/v1/images", headers=alice)).json()
    assert [item["state"] for item in listing["items"]] == ["ready"]


@pytest.mark.embedded_only("breaks the derivative folder in the data folder")
async def test_a_job_that_keeps_failing_leaves_the_image_failed(settings: Settings) -> None:
    failing = settings.model_copy(
        update={
            "job_max_attempts": 2,
            "job_retry_base_seconds": 0,
            "metrics_token": SecretStr(TOKEN),
        }
    )
    failing.data_dir.mkdir(parents=True)
    failing.derivative_dir.write_text("not a folder")  # every derivative write fails
    async with (
        build_services(failing) as services,
        client_on(services, failing) as http,
    ):
        root = await login(http)
        created = await upload(http, root)  # the thumbnail could not be kept: still accepted
        assert created["state"] == "processing"
        await wait_for_state(http, root, created["id"], "failed")
        metrics = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert 'imagerepo_images{state="failed"} 1.0' in metrics.text
        assert "imagerepo_job_failures_total" in metrics.text


async def test_a_job_lost_with_its_process_is_found_again_at_start(settings: Settings) -> None:
    async with (
        build_services(settings, run_jobs=False) as services,  # enqueued, never run
        client_on(services, settings) as http,
    ):
        root = await login(http)
        created = await upload(http, root)
        image_id = created["id"]
    async with build_services(settings) as services, client_on(services, settings) as http:
        root = await login(http)
        ready = await wait_for_state(http, root, image_id, "ready")
    assert await derivatives_stored(settings, ready) == [True, True, True]


async def test_an_image_deleted_while_processing_leaves_no_derivative(
    settings: Settings,
) -> None:
    async with (
        build_services(settings, run_jobs=False) as services,
        client_on(services, settings) as http,
    ):
        root = await login(http)
        created = await upload(http, root)
        assert (await http.delete(f"/api/v1/images/{created['id']}", headers=root)).is_success
        assert services.processing is not None
        await services.processing.process(created["id"])  # the job of a deleted image: no-op
    assert await derivatives_stored(settings, created) == [False, False, False]


async def test_an_upload_is_acknowledged_when_the_queue_is_unreachable(
    settings: Settings,
) -> None:
    from tests.services import free_port

    nowhere = settings.model_copy(
        update={"queue_url": f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"}
    )
    async with build_services(nowhere) as services, client_on(services, nowhere) as http:
        root = await login(http)
        created = await upload(http, root)  # stored and answered; the sweep enqueues it later
        assert created["state"] == "processing"
        assert (await http.get(f"/api/v1/images/{created['id']}/preview", headers=root)).is_success
